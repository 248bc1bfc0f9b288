import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { ME, SIGNED_IN, WhenSignedIn, fakeServer, renderApp } from "@/test/render";
import KeysTab, { type ApiKey, keyRequest } from "./KeysTab";

const KEY: ApiKey = {
  id: "key_abc",
  name: "prod",
  status: "active",
  created_at: "2026-11-01T10:00:00Z",
  last_used_at: null,
  expires_at: null,
  allowed_models: null,
  limits: null,
};
const MODELS = {
  object: "list",
  data: ["embed", "gpt-fast"].map((id) => ({ id, object: "model", owned_by: "gpt-api", name: id, type: "chat", context_length: 1, pricing: {} })),
};

function server(extra: (method: string, url: string, body: unknown) => [number, unknown] | undefined) {
  let keys = [KEY];
  return fakeServer((method, url, body) => {
    if (url === "/api/auth/refresh") return [200, SIGNED_IN];
    if (url === "/api/me") return [200, ME];
    if (url === "/api/models") return [200, MODELS];
    if (method === "GET" && url === "/api/orgs/7/keys") return [200, { object: "list", data: keys }];
    const answer = extra(method, url, body);
    if (answer && method === "DELETE") keys = [{ ...KEY, status: "revoked" }];
    return answer;
  });
}

describe("API keys tab", () => {
  beforeEach(() => localStorage.setItem("gptapi.session", "1")); // a browser that signed in before
  it("creates a key and shows its secret once, with a copy button", async () => {
    const user = userEvent.setup();
    const { client, calls } = server((method, url) =>
      method === "POST" && url === "/api/orgs/7/keys" ? [201, { ...KEY, id: "key_new", name: "ci", key: "gpt-secret-123" }] : undefined,
    );
    renderApp(<WhenSignedIn><KeysTab /></WhenSignedIn>, { client });
    await user.click(await screen.findByRole("button", { name: "Create key" }));
    const dialog = await screen.findByRole("dialog", { name: "Create an API key" });
    await user.type(within(dialog).getByLabelText("Name"), "ci");
    await user.click(await within(dialog).findByLabelText("embed")); // only gpt-fast stays allowed
    await user.type(within(dialog).getByLabelText("Requests / minute"), "60");
    await user.click(within(dialog).getByRole("button", { name: "Create key" }));
    const secret = await screen.findByRole("dialog", { name: "Your new key" });
    expect(within(secret).getByText("gpt-secret-123")).toBeInTheDocument();
    expect(within(secret).getByRole("button", { name: "Copy the key" })).toBeInTheDocument();
    expect(calls.find((c) => c.method === "POST" && c.url === "/api/orgs/7/keys")?.body).toEqual({ name: "ci", allowed_models: ["gpt-fast"], limits: { rpm: 60 } });
  });

  it("revokes only after Confirm Action, and a failed action shows a red toast", async () => {
    const user = userEvent.setup();
    let fail = true;
    const { client, calls } = server((method, url) => {
      if (method !== "DELETE" || url !== "/api/orgs/7/keys/key_abc") return undefined;
      if (fail) {
        fail = false;
        return [500, { error: { message: "The database is not answering. Try again.", type: "server_error", code: null, param: null } }];
      }
      return [200, { ...KEY, status: "revoked" }];
    });
    renderApp(<WhenSignedIn><KeysTab /></WhenSignedIn>, { client });
    await user.click(await screen.findByRole("button", { name: "Revoke prod" }));
    const confirm = await screen.findByRole("dialog", { name: 'Revoke "prod"?' });
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await user.click(within(confirm).getByRole("button", { name: "Revoke key" }));
    const toast = await screen.findByText("The database is not answering. Try again.");
    expect(toast.closest("[data-kind]")).toHaveAttribute("data-kind", "bad");
    await user.click(within(confirm).getByRole("button", { name: "Revoke key" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(await screen.findByText("revoked")).toBeInTheDocument();
  });
});

describe("keyRequest", () => {
  it("leaves out what the user left empty, so the key gets the org's defaults", () => {
    const data = new FormData();
    data.set("name", "  plain ");
    ["embed", "gpt-fast"].forEach((m) => data.append("allowed_models", m));
    data.set("rpm", "");
    data.set("expires", "");
    expect(keyRequest(data, ["embed", "gpt-fast"])).toEqual({ name: "plain" });
    data.set("expires", "2030-01-31");
    expect(keyRequest(data, ["embed", "gpt-fast"]).expires_at).toBe("2030-01-31T23:59:59Z");
  });
});
