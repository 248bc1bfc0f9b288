import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { fakeServer, renderApp } from "@/test/render";
import { STATUS, uptime } from "./status.fixture";
import StatusPage from "./StatusPage";
import { ServerCard } from "./StatusCards";
import { UptimeBars } from "./UptimeBars";

describe("uptime bars", () => {
  it("draws one bar per day, grey where nothing was observed, and the 24 h / 30 d / 90 d figures", () => {
    render(<UptimeBars uptime={uptime()} label="Chat completions" />);
    const bars = screen.getAllByTestId("uptime-bar");
    expect(bars).toHaveLength(90);
    expect(bars[0]).toHaveClass("bg-muted-foreground/25");
    expect(bars[0]).toHaveAttribute("title", "2026-09-03: no data");
    expect(bars[88]).toHaveClass("bg-orange-500");
    expect(bars[88]).toHaveAttribute("title", "2026-11-30: Partial outage, 97.5% up");
    expect(bars[89]).toHaveClass("bg-good");
    expect(screen.getByRole("img", { name: "Chat completions: uptime 99.942% over 90 days (30 days observed)" })).toBeInTheDocument();
    expect(screen.getByText("99.93%")).toBeInTheDocument();
    expect(screen.getAllByText("99.942%")).toHaveLength(2);
  });
});

describe("server card", () => {
  it("shows the state, the slots in use and the latency", () => {
    render(<ServerCard server={STATUS.servers[0]} />);
    expect(screen.getByRole("heading", { name: "gpt-fast #3" })).toBeInTheDocument();
    expect(screen.getByText("Healthy")).toBeInTheDocument();
    expect(screen.getByText("2 / 4")).toBeInTheDocument();
    expect(screen.getByText("412 ms")).toBeInTheDocument();
  });
});

describe("status page", () => {
  it("shows the overall status, the services, servers and the open incident with its updates, newest first", async () => {
    const { client } = fakeServer((method, url) => (method === "GET" && url === "/api/status" ? [200, STATUS] : undefined));
    renderApp(<StatusPage />, { client, path: "/status" });
    expect(await screen.findByTestId("overall-status")).toHaveTextContent("Degraded performance");
    expect(screen.getAllByTestId("service-card")).toHaveLength(2);
    expect(screen.getByText("Card payments are not enabled on this deployment.")).toBeInTheDocument();
    const incident = screen.getByTestId("incident-card");
    expect(within(incident).getByRole("heading", { name: "Slow answers from gpt-fast" })).toBeInTheDocument();
    const updates = within(incident).getAllByRole("listitem");
    expect(updates[0]).toHaveTextContent("A server is overloaded.");
    expect(updates[1]).toHaveTextContent("We are looking into it.");
    expect(screen.getByText("No incidents in the last 14 days.")).toBeInTheDocument();
  });

  it("subscribes an address and says to confirm it; a bad address is shown at the field", async () => {
    const user = userEvent.setup();
    const { client, calls } = fakeServer((method, url, body) => {
      if (url === "/api/status") return [200, STATUS];
      if (method === "POST" && url === "/api/status/subscribe") {
        return (body as { email: string }).email === "bad"
          ? [400, { error: { message: "'email' is not an e-mail address.", type: "invalid_request_error", param: "email", code: null } }]
          : [202, { message: "If the address can be subscribed, a confirmation link is on its way." }];
      }
      return undefined;
    });
    renderApp(<StatusPage />, { client, path: "/status" });
    const field = await screen.findByLabelText("E-mail");
    await user.type(field, "bad");
    await user.click(screen.getByRole("button", { name: "Subscribe" }));
    expect(await screen.findByText("'email' is not an e-mail address.")).toBeInTheDocument();
    await user.clear(field);
    await user.type(field, "ann@example.com");
    await user.click(screen.getByRole("button", { name: "Subscribe" }));
    expect(await screen.findByText(/a confirmation link is on its way\. Open the link in the e-mail to confirm\./)).toBeInTheDocument();
    await waitFor(() => expect(calls.filter((c) => c.url === "/api/status/subscribe").at(-1)?.body).toEqual({ email: "ann@example.com" }));
    expect(calls.every((c) => !c.headers.Authorization)).toBe(true);
  });
});
