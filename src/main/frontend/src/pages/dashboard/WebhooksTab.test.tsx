import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { ME, SIGNED_IN, WhenSignedIn, fakeServer, renderApp } from "@/test/render";
import WebhooksTab from "./WebhooksTab";
import type { Delivery, Endpoint } from "./webhooks/api";
import { endpointChanges } from "./webhooks/EndpointDialog";

const TYPES = ["usage.recorded", "credits.added", "key.created"];
const ENDPOINT: Endpoint = {
  id: 5,
  url: "https://hooks.example.com/gpt",
  description: "billing sync",
  events: ["credits.added"],
  enabled: true,
  disabled_reason: null,
  failing_since: null,
  previous_secret_expires_at: null,
  created_at: "2026-11-01T10:00:00Z",
  updated_at: "2026-11-01T10:00:00Z",
};
const DELIVERED: Delivery = {
  id: "msg_1",
  type: "webhook.test",
  event_count: 1,
  status: "delivered",
  attempts: 1,
  next_attempt_at: null,
  last_attempt_at: "2026-11-01T10:01:00Z",
  response_status: 204,
  latency_ms: 37,
  response_excerpt: "ok from the receiver",
  error: null,
  created_at: "2026-11-01T10:01:00Z",
  finished_at: "2026-11-01T10:01:00Z",
};

function server(extra: (method: string, url: string, body: unknown) => [number, unknown] | undefined = () => undefined) {
  let endpoints = [ENDPOINT];
  let deliveries: Delivery[] = [];
  return fakeServer((method, url, body) => {
    if (url === "/api/auth/refresh") return [200, SIGNED_IN];
    if (url === "/api/me") return [200, ME];
    if (url === "/api/webhooks/event-types") return [200, { object: "list", data: TYPES }];
    const answer = extra(method, url, body);
    if (answer) return answer;
    if (method === "GET" && url === "/api/orgs/7/webhooks") return [200, { object: "list", data: endpoints }];
    if (method === "POST" && url === "/api/orgs/7/webhooks/5/test") {
      deliveries = [DELIVERED];
      return [202, { ...DELIVERED, status: "pending", attempts: 0 }];
    }
    if (method === "GET" && url === "/api/orgs/7/webhooks/5/deliveries?limit=50") return [200, { object: "list", data: deliveries }];
    if (method === "POST" && url === "/api/orgs/7/webhooks/5/deliveries/msg_1/resend") return [202, { ...DELIVERED, status: "pending" }];
    if (method === "DELETE" && url === "/api/orgs/7/webhooks/5") {
      endpoints = [];
      return [204, undefined];
    }
    return undefined;
  });
}

describe("Webhooks tab", () => {
  beforeEach(() => localStorage.setItem("gptapi.session", "1"));

  it("adds an endpoint with the API's event types and shows its secret once, with a copy button", async () => {
    const user = userEvent.setup();
    const { client, calls } = server((method, url, body) => {
      if (method !== "POST" || url !== "/api/orgs/7/webhooks") return undefined;
      if ((body as { url: string }).url.startsWith("http://"))
        return [400, { error: { message: "'url' must use https://.", type: "invalid_request_error", param: "url", code: null } }];
      return [201, { ...ENDPOINT, id: 6, url: "https://hooks.example.com/new", events: ["usage.recorded"], secret: "whsec_abc" }];
    });
    renderApp(<WhenSignedIn><WebhooksTab /></WhenSignedIn>, { client });
    await user.click(await screen.findByRole("button", { name: "Add endpoint" }));
    const dialog = await screen.findByRole("dialog", { name: "Add a webhook endpoint" });
    await user.type(within(dialog).getByLabelText("URL"), "http://hooks.example.com/new");
    await user.click(within(dialog).getByRole("button", { name: "Add endpoint" }));
    expect(await within(dialog).findByText("Choose at least one event to receive.")).toBeInTheDocument();
    await user.click(await within(dialog).findByLabelText("usage.recorded"));
    await user.click(within(dialog).getByRole("button", { name: "Add endpoint" }));
    expect(await within(dialog).findByText("'url' must use https://.")).toBeInTheDocument();
    expect(within(dialog).getByLabelText("URL")).toHaveAttribute("aria-invalid", "true");
    await user.clear(within(dialog).getByLabelText("URL"));
    await user.type(within(dialog).getByLabelText("URL"), "https://hooks.example.com/new");
    await user.click(within(dialog).getByRole("button", { name: "Add endpoint" }));
    const secret = await screen.findByRole("dialog", { name: "Your endpoint's signing secret" });
    expect(within(secret).getByText("whsec_abc")).toBeInTheDocument();
    expect(within(secret).getByRole("button", { name: "Copy the secret" })).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST" && c.url === "/api/orgs/7/webhooks").at(-1)?.body).toEqual({
      url: "https://hooks.example.com/new",
      events: ["usage.recorded"],
    });
  });

  it("sends a test event, shows its delivery (status, latency, excerpt) and resends it", async () => {
    const user = userEvent.setup();
    const { client, calls } = server();
    renderApp(<WhenSignedIn><WebhooksTab /></WhenSignedIn>, { client });
    await user.click(await screen.findByRole("button", { name: "Send test event" }));
    expect(await screen.findByText("Test event queued")).toBeInTheDocument();
    const log = await screen.findByRole("table", { name: "Delivery log" });
    expect(within(log).getByText("delivered")).toBeInTheDocument();
    expect(within(log).getByText("HTTP 204")).toBeInTheDocument();
    expect(within(log).getByText("37 ms")).toBeInTheDocument();
    expect(within(log).getAllByText("ok from the receiver").length).toBeGreaterThan(0);
    await user.click(within(log).getByRole("button", { name: "Resend msg_1" }));
    expect(await screen.findByText("Sent again")).toBeInTheDocument();
    expect(calls.some((c) => c.method === "POST" && c.url === "/api/orgs/7/webhooks/5/deliveries/msg_1/resend")).toBe(true);
  });

  it("deletes only after Confirm Action", async () => {
    const user = userEvent.setup();
    const { client, calls } = server();
    renderApp(<WhenSignedIn><WebhooksTab /></WhenSignedIn>, { client });
    await user.click(await screen.findByRole("button", { name: "Delete billing sync" }));
    const confirm = await screen.findByRole("dialog", { name: "Delete the endpoint https://hooks.example.com/gpt?" });
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await user.click(within(confirm).getByRole("button", { name: "Delete endpoint" }));
    expect(await screen.findByText("No endpoints yet. Add one to receive events.")).toBeInTheDocument();
  });

  it("rotates the secret after Confirm Action and shows the new one once", async () => {
    const user = userEvent.setup();
    const { client } = server((method, url) =>
      method === "POST" && url === "/api/orgs/7/webhooks/5/rotate-secret"
        ? [200, { ...ENDPOINT, secret: "whsec_new", previous_secret_expires_at: "2099-01-01T00:00:00Z" }]
        : undefined,
    );
    renderApp(<WhenSignedIn><WebhooksTab /></WhenSignedIn>, { client });
    await user.click(await screen.findByRole("button", { name: "Rotate secret of billing sync" }));
    await user.click(within(await screen.findByRole("dialog", { name: "Rotate the signing secret?" })).getByRole("button", { name: "Rotate secret" }));
    const shown = await screen.findByRole("dialog", { name: "Your new signing secret" });
    expect(within(shown).getByText("whsec_new")).toBeInTheDocument();
  });

  it("a member sees why, and nothing is asked of the admin-only API", async () => {
    localStorage.setItem("gptapi.org", "9");
    const { client, calls } = server();
    renderApp(<WhenSignedIn><WebhooksTab /></WhenSignedIn>, { client });
    expect(await screen.findByText(/Only admins and owners of Team can see and manage its webhooks/)).toBeInTheDocument();
    await waitFor(() => expect(calls.some((c) => c.url === "/api/me")).toBe(true));
    expect(calls.some((c) => c.url.includes("/webhooks"))).toBe(false);
  });
});

describe("endpointChanges", () => {
  it("sends only what changed, so an unchanged URL is not checked again", () => {
    const data = new FormData();
    data.set("url", ENDPOINT.url);
    data.set("description", " billing sync ");
    data.append("events", "credits.added");
    data.append("events", "key.created");
    expect(endpointChanges(ENDPOINT, data, false)).toEqual({ events: ["credits.added", "key.created"], enabled: false });
  });
});
