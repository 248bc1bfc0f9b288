import { QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { vi } from "vitest";
import { newQueryClient } from "@/App";
import ModalHost from "@/components/modals/ModalHost";
import { Toaster } from "@/components/Toaster";
import { ApiClient } from "@/lib/api";
import { AuthProvider, useAuth } from "@/lib/auth";
import { ModalProvider } from "@/lib/modals";

export type Route_ = (method: string, url: string, body: unknown) => [number, unknown] | undefined;

/**
 * A fake server for the API client: answers each call from `route` (method, path, JSON body); an unanswered
 * call fails the test. No session unless the route answers /api/auth/refresh.
 */
export function fakeServer(route: Route_) {
  const calls: Array<{ method: string; url: string; body: unknown; headers: Record<string, string> }> = [];
  const fetchFn = vi.fn(async (url: string, init: RequestInit) => {
    const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    const method = init.method ?? "GET";
    calls.push({ method, url, body, headers: init.headers as Record<string, string> });
    const answer =
      route(method, url, body) ??
      (url === "/api/auth/refresh" ? [401, { error: { message: "Not signed in.", code: "no_session" } }] : undefined);
    if (!answer) throw new Error(`no fake answer for ${method} ${url}`);
    const [status, json] = answer;
    return new Response(json === undefined ? null : JSON.stringify(json), {
      status,
      headers: { "content-type": "application/json" },
    });
  });
  return { client: new ApiClient(fetchFn as unknown as typeof fetch), calls };
}

export const ME = {
  id: 1,
  email: "ann@example.com",
  name: "Ann",
  email_verified: true,
  is_admin: false,
  two_factor_enabled: false,
  organizations: [
    { id: 7, name: "Ann's org", role: "owner" },
    { id: 9, name: "Team", role: "member" },
  ],
};

export const SIGNED_IN = { access_token: "tok", token_type: "Bearer", expires_in: 900 };

/** Renders its children once the fake session is loaded, as the dashboard page does. */
export function WhenSignedIn({ children }: { children: ReactNode }) {
  const { org } = useAuth();
  return org ? children : null;
}

function Where() {
  const location = useLocation();
  return <output data-testid="location">{location.pathname}</output>;
}

/** Renders `ui` inside the app's providers, the modal host and the toaster, at `path`. */
export function renderApp(ui: ReactNode, { client, path = "/" }: { client: ApiClient; path?: string }) {
  const queries = newQueryClient();
  queries.setDefaultOptions({ queries: { retry: false } });
  return render(
    <QueryClientProvider client={queries}>
      <ModalProvider>
        <AuthProvider client={client}>
          <MemoryRouter initialEntries={[path]}>
            <Routes>
              <Route path="*" element={ui} />
            </Routes>
            <Where />
            <ModalHost />
          </MemoryRouter>
          <Toaster />
        </AuthProvider>
      </ModalProvider>
    </QueryClientProvider>,
  );
}
