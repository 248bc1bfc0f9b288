import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { ME, SIGNED_IN, fakeServer, renderApp } from "@/test/render";
import { Route, Routes } from "react-router";
import AdminPage from "./AdminPage";
import { backendBody } from "./BackendsSection";
import { openBody } from "./IncidentsSection";
import { type AdminModel, modelChanges } from "./ModelsSection";

const ADMIN = { ...ME, is_admin: true };
const ORG = {
  id: 7,
  name: "Ann's org",
  created_at: "2026-11-01T10:00:00Z",
  plan: { id: "free", name: "Free" },
  effective_limits: { rpm: 60, tpd: null },
  balance_usd: "5.000000",
  key_count: 2,
  active_key_count: 1,
  suspended: false,
  members: [{ user_id: 1, email: "ann@example.com", name: "Ann", role: "owner", joined_at: "2026-11-01T10:00:00Z" }],
};

function admin(me: typeof ME, extra: (method: string, url: string, body: unknown) => [number, unknown] | undefined = () => undefined) {
  return fakeServer((method, url, body) => {
    if (url === "/api/auth/refresh") return [200, SIGNED_IN];
    if (url === "/api/me") return [200, me];
    if (method === "GET" && url.startsWith("/api/admin/orgs?")) {
      return [200, { object: "list", data: [{ id: 7, name: "Ann's org", plan_id: "free", members: 1, balance_usd: "5.000000", created_at: "2026-11-01T10:00:00Z" }], has_more: true, next_before: 7 }];
    }
    if (method === "GET" && url === "/api/admin/orgs/7") return [200, ORG];
    return extra(method, url, body);
  });
}

function renderAdmin(client: ReturnType<typeof fakeServer>["client"], path: string) {
  return renderApp(
    <Routes>
      <Route path="/admin/:section" element={<AdminPage />} />
    </Routes>,
    { client, path },
  );
}

describe("admin console", () => {
  beforeEach(() => localStorage.setItem("gptapi.session", "1"));

  it("refuses a signed-in user who is not a platform admin with a clear 403 page", async () => {
    const { client, calls } = admin(ME);
    renderAdmin(client, "/admin/orgs");
    expect(await screen.findByRole("heading", { name: "403: admins only" })).toBeInTheDocument();
    expect(calls.some((c) => c.url.startsWith("/api/admin"))).toBe(false);
  });

  it("pages organizations with the cursor the server gives", async () => {
    const user = userEvent.setup();
    const { client, calls } = admin(ADMIN);
    renderAdmin(client, "/admin/orgs");
    expect(await screen.findByRole("link", { name: "Ann's org" }, { timeout: 5000 })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Next" }));
    await waitFor(() => expect(calls.some((c) => c.url === "/api/admin/orgs?before=7&limit=25")).toBe(true));
    expect(screen.getByText("Page 2")).toBeInTheDocument();
  });

  it("deposits credit only after Confirm Action, and says the new balance in a green toast", async () => {
    const user = userEvent.setup();
    const { client, calls } = admin(ADMIN, (method, url) =>
      method === "POST" && url === "/api/admin/orgs/7/credits" ? [201, { amount_usd: "25.000000", balance_usd: "30.000000" }] : undefined,
    );
    renderAdmin(client, "/admin/orgs?org=7");
    await screen.findByTestId("admin-org-balance", {}, { timeout: 5000 });
    await user.click(screen.getByRole("button", { name: "Deposit" }));
    expect(screen.getByText("Give an amount in dollars greater than zero, such as 25 or 10.50.")).toBeInTheDocument();
    expect(screen.getByText("Say why: it is kept in the ledger and the audit log.")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Amount (USD)"), "25");
    await user.type(screen.getByLabelText("Reason"), "Goodwill");
    await user.click(screen.getByRole("button", { name: "Deduct" }));
    const deduct = await screen.findByRole("dialog", { name: "Deduct $25.00 from Ann's org?" });
    await user.click(within(deduct).getByRole("button", { name: "Cancel" }));
    expect(calls.some((c) => c.url.endsWith("/credits"))).toBe(false);
    await user.click(screen.getByRole("button", { name: "Deposit" }));
    const dialog = await screen.findByRole("dialog", { name: "Deposit $25.00 to Ann's org?" });
    await user.click(within(dialog).getByRole("button", { name: "Deposit credit" }));
    expect(await screen.findByText("$25.00; the balance is now $30.00.")).toBeInTheDocument();
    expect(calls.find((c) => c.url.endsWith("/credits"))?.body).toEqual({ usd: "25", reason: "Goodwill" });
  });

  it("a refused deduction (402) keeps the modal open with a red toast", async () => {
    const user = userEvent.setup();
    const { client } = admin(ADMIN, (method, url) =>
      method === "POST" && url === "/api/admin/orgs/7/credits"
        ? [402, { error: { message: "The organization has only $5.00 available.", type: "insufficient_quota", param: null, code: "insufficient_quota" } }]
        : undefined,
    );
    renderAdmin(client, "/admin/orgs?org=7");
    await screen.findByTestId("admin-org-balance", {}, { timeout: 5000 });
    await user.type(screen.getByLabelText("Amount (USD)"), "50");
    await user.type(screen.getByLabelText("Reason"), "Refund");
    await user.click(screen.getByRole("button", { name: "Deduct" }));
    const dialog = await screen.findByRole("dialog", { name: "Deduct $50.00 from Ann's org?" });
    await user.click(within(dialog).getByRole("button", { name: "Deduct credit" }));
    expect(await screen.findByText("The organization has only $5.00 available.")).toBeInTheDocument();
    expect(screen.getByRole("dialog", { name: "Deduct $50.00 from Ann's org?" })).toBeInTheDocument();
  });
});

describe("admin form bodies", () => {
  it("a model patch carries only what changed", () => {
    const model: AdminModel = { id: "m", display_name: "M", kind: "chat", input_price_usd_per_m: "0.100000", output_price_usd_per_m: "0.200000", default_max_tokens: 1, max_max_tokens: 2, context_length: 3, active: true };
    expect(modelChanges(model, "0.100000", "0.200000", true)).toEqual({});
    expect(modelChanges(model, "0.15", "0.200000", false)).toEqual({ input_price_usd_per_m: "0.15", active: false });
  });

  it("a backend gets numbers only when given, and a non-number is left for the server to name", () => {
    const data = new FormData();
    data.set("model", " gpt-fast ");
    data.set("url", "http://10.0.0.5:8080");
    data.set("slots", "8");
    data.set("weight", "");
    expect(backendBody(data)).toEqual({ model: "gpt-fast", url: "http://10.0.0.5:8080", slots: 8 });
    data.set("weight", "heavy");
    expect(backendBody(data).weight).toBe("heavy");
  });

  it("an incident lists every service ticked", () => {
    const data = new FormData();
    data.set("title", " Down ");
    data.set("severity", "high");
    data.set("status", "investigating");
    data.set("message", "Looking.");
    data.append("services", "api");
    data.append("services", "billing");
    expect(openBody(data)).toEqual({ title: "Down", severity: "high", status: "investigating", message: "Looking.", services: ["api", "billing"] });
  });
});
