/** The gateway's JSON API (/api): OpenAI-shaped errors, a bearer access token in memory, silent refresh. */

export const CSRF_HEADER = "X-GPTAPI-CSRF";

/** An OpenAI-shaped error answer: {"error": {"message", "type", "param", "code"}}. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly param: string | null;
  readonly retryAfterSeconds: number | null;

  constructor(status: number, code: string, message: string, param: string | null = null, retryAfter: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.param = param;
    this.retryAfterSeconds = retryAfter;
  }
}

export interface SignedIn {
  access_token: string;
  token_type: string;
  expires_in: number;
}

export interface RequestOptions {
  body?: unknown;
  /** false for the public routes (sign-in, sign-up...): no token, no refresh on 401. */
  auth?: boolean;
  signal?: AbortSignal;
}

type Fetch = typeof fetch;

/** Refresh this long before the token's expiry, so a request never races it. */
const EARLY_REFRESH_MS = 30_000;

/**
 * Holds the access token only in memory (never in storage a script could read later); the refresh token is an
 * httpOnly cookie the browser sends only to /api/auth. A request finding the token expired, or answered 401,
 * refreshes once (concurrent callers share that refresh) and retries.
 */
export class ApiClient {
  private token: string | null = null;
  private expiresAt = 0;
  private refreshing: Promise<boolean> | null = null;
  private readonly fetchFn: Fetch;
  private readonly now: () => number;
  /** Called when the session is gone (expired, signed out elsewhere, reused refresh token). */
  onSignedOut: (error: ApiError) => void = () => {};

  constructor(fetchFn: Fetch = (...args) => fetch(...args), now: () => number = Date.now) {
    this.fetchFn = fetchFn;
    this.now = now;
  }

  get signedIn(): boolean {
    return this.token !== null;
  }

  /** Keeps a token from a sign-in (or refresh) answer. */
  accept(answer: SignedIn) {
    this.token = answer.access_token;
    this.expiresAt = this.now() + answer.expires_in * 1000;
  }

  forget() {
    this.token = null;
    this.expiresAt = 0;
  }

  /** Trades the refresh cookie for a new access token; false when there is no session. Single-flight. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.send("POST", "/api/auth/refresh", { auth: false }, { [CSRF_HEADER]: "1" })
        .then((answer) => {
          this.accept(answer as SignedIn);
          return true;
        })
        .catch((err: unknown) => {
          const hadSession = this.token !== null;
          this.forget();
          if (err instanceof ApiError && (hadSession || err.code === "session_revoked")) {
            this.onSignedOut(err);
          }
          if (err instanceof ApiError && err.status === 401) return false;
          throw err;
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    if (auth && (this.token === null || this.now() > this.expiresAt - EARLY_REFRESH_MS)) {
      await this.refresh();
    }
    try {
      return (await this.send(method, path, options, this.authHeader(auth))) as T;
    } catch (err) {
      if (!(auth && err instanceof ApiError && err.status === 401 && err.code !== "no_session")) throw err;
      // The token was revoked or expired early (clock skew): one refresh, one retry.
      if (!(await this.refresh())) throw err;
      return (await this.send(method, path, options, this.authHeader(auth))) as T;
    }
  }

  get<T>(path: string, options?: RequestOptions) {
    return this.request<T>("GET", path, options);
  }

  post<T>(path: string, body?: unknown, options?: RequestOptions) {
    return this.request<T>("POST", path, { ...options, body });
  }

  patch<T>(path: string, body?: unknown, options?: RequestOptions) {
    return this.request<T>("PATCH", path, { ...options, body });
  }

  delete<T>(path: string, options?: RequestOptions) {
    return this.request<T>("DELETE", path, options);
  }

  private authHeader(auth: boolean): Record<string, string> {
    return auth && this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  private async send(method: string, path: string, options: RequestOptions, headers: Record<string, string>): Promise<unknown> {
    const init: RequestInit = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", ...headers },
      signal: options.signal,
    };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    }
    let response: Response;
    try {
      response = await this.fetchFn(path, init);
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, "network_error", "Could not reach GPT API. Check your connection and try again.");
    }
    if (response.status === 204) return undefined;
    const text = await response.text();
    const type = response.headers.get("content-type") ?? "";
    // A CSV export: handed back as is.
    if (response.ok && type.startsWith("text/")) return text;
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's error page): reported below by status.
    }
    if (response.ok) return json;
    throw toApiError(response, json);
  }
}

/** Reads an OpenAI-shaped error; anything else becomes a generic error for its status. */
export function toApiError(response: Pick<Response, "status" | "headers">, json: unknown): ApiError {
  const retry = Number(response.headers.get("retry-after"));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
  const error = typeof json === "object" && json !== null ? (json as { error?: unknown }).error : undefined;
  if (typeof error === "object" && error !== null) {
    const e = error as Record<string, unknown>;
    const message = typeof e.message === "string" && e.message ? e.message : `Request failed (${response.status}).`;
    const code = typeof e.code === "string" ? e.code : typeof e.type === "string" ? e.type : "error";
    const param = typeof e.param === "string" ? e.param : null;
    return new ApiError(response.status, code, message, param, retryAfter);
  }
  const message =
    response.status >= 500
      ? "GPT API had a problem answering. Please try again in a moment."
      : `Request failed (${response.status}).`;
  return new ApiError(response.status, "http_" + response.status, message, null, retryAfter);
}

export const api = new ApiClient();
