import { describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError, CSRF_HEADER, toApiError } from "./api";

type Call = { url: string; init: RequestInit };

/** A fake fetch answering from a script of responses, recording every call. */
function fakeFetch(...answers: Array<[number, unknown] | [number, unknown, Record<string, string>]>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (!next) throw new Error("unexpected call to " + url);
    const [status, body, headers = {}] = next;
    return new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });
  });
  return { fn: fn as unknown as typeof fetch, calls };
}

const header = (c: Call, name: string) => (c.init.headers as Record<string, string>)[name];
const token = (t: string, expiresIn = 900) => ({ access_token: t, token_type: "Bearer", expires_in: expiresIn });

describe("ApiClient", () => {
  it("refreshes through the cookie with the CSRF header before the first signed-in call", async () => {
    const { fn, calls } = fakeFetch([200, token("t1")], [200, { id: 1 }]);
    const client = new ApiClient(fn);
    expect(await client.get("/api/me")).toEqual({ id: 1 });
    expect(calls[0].url).toBe("/api/auth/refresh");
    expect(calls[0].init.method).toBe("POST");
    expect(header(calls[0], CSRF_HEADER)).toBe("1");
    expect(calls[0].init.credentials).toBe("same-origin");
    expect(header(calls[1], "Authorization")).toBe("Bearer t1");
  });

  it("refreshes silently when the token is about to expire, and only once for concurrent calls", async () => {
    let now = 1_000_000;
    const { fn, calls } = fakeFetch([200, token("new")], [200, 1], [200, 2]);
    const client = new ApiClient(fn, () => now);
    client.accept(token("old", 60));
    now += 45_000; // 15 s left: inside the early-refresh window
    expect(await Promise.all([client.get("/api/a"), client.get("/api/b")])).toEqual([1, 2]);
    expect(calls.map((c) => c.url)).toEqual(["/api/auth/refresh", "/api/a", "/api/b"]);
    expect(header(calls[1], "Authorization")).toBe("Bearer new");
  });

  it("retries once after a 401 with a fresh token", async () => {
    const { fn, calls } = fakeFetch(
      [401, { error: { message: "Token expired.", type: "invalid_request_error", code: "invalid_token" } }],
      [200, token("t2")],
      [200, { ok: true }],
    );
    const client = new ApiClient(fn);
    client.accept(token("t1"));
    expect(await client.get("/api/x")).toEqual({ ok: true });
    expect(header(calls[2], "Authorization")).toBe("Bearer t2");
  });

  it("signs out everywhere when the refresh token was reused", async () => {
    const { fn } = fakeFetch(
      [401, { error: { message: "Token expired.", code: "invalid_token" } }],
      [401, { error: { message: "This sign-in was used from elsewhere.", code: "session_revoked" } }],
    );
    const client = new ApiClient(fn);
    const signedOut = vi.fn();
    client.onSignedOut = signedOut;
    client.accept(token("t1"));
    await expect(client.get("/api/x")).rejects.toMatchObject({ status: 401 });
    expect(signedOut).toHaveBeenCalledWith(expect.objectContaining({ code: "session_revoked" }));
    expect(client.signedIn).toBe(false);
  });

  it("is quietly signed out on start when there is no session", async () => {
    const { fn } = fakeFetch([401, { error: { message: "Not signed in.", code: "no_session" } }]);
    const client = new ApiClient(fn);
    const signedOut = vi.fn();
    client.onSignedOut = signedOut;
    expect(await client.refresh()).toBe(false);
    expect(signedOut).not.toHaveBeenCalled();
  });

  it("sends JSON bodies and no token on public routes", async () => {
    const { fn, calls } = fakeFetch([202, { message: "Check your e-mail." }]);
    await new ApiClient(fn).post("/api/auth/signup", { email: "a@b.co" }, { auth: false });
    expect(calls[0].init.body).toBe('{"email":"a@b.co"}');
    expect(header(calls[0], "Content-Type")).toBe("application/json");
    expect(header(calls[0], "Authorization")).toBeUndefined();
  });

  it("turns a network failure into an error that says what to do", async () => {
    const client = new ApiClient((async () => {
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof fetch);
    await expect(client.get("/api/config", { auth: false })).rejects.toMatchObject({ status: 0, code: "network_error" });
  });
});

describe("toApiError", () => {
  const headers = (h: Record<string, string> = {}) => new Headers(h);

  it("reads the OpenAI error shape, the field it names and Retry-After", () => {
    const err = toApiError(
      { status: 429, headers: headers({ "retry-after": "30" }) },
      { error: { message: "Too many.", type: "rate_limit_error", param: "email", code: "too_many_attempts" } },
    );
    expect(err).toBeInstanceOf(ApiError);
    expect([err.status, err.code, err.param, err.message, err.retryAfterSeconds]).toEqual([429, "too_many_attempts", "email", "Too many.", 30]);
  });

  it("gives a readable message when the body is not ours", () => {
    expect(toApiError({ status: 502, headers: headers() }, undefined).message).toMatch(/try again/);
    expect(toApiError({ status: 418, headers: headers() }, { error: "teapot" }).code).toBe("http_418");
  });
});
