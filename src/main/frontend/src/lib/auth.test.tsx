import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ME, SIGNED_IN, fakeServer, renderApp } from "@/test/render";
import { useAuth } from "./auth";

function Who() {
  const { status, me, org } = useAuth();
  return (
    <p data-testid="who">
      {status} {me?.email ?? ""} {org?.name ?? ""}
    </p>
  );
}

describe("AuthProvider", () => {
  it("does not try a refresh for a visitor who never signed in", async () => {
    const { client, calls } = fakeServer(() => undefined);
    renderApp(<Who />, { client });
    expect(await screen.findByText(/signed_out/)).toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it("stays signed in across a reload through the refresh cookie (silent refresh)", async () => {
    localStorage.setItem("gptapi.session", "1");
    const { client, calls } = fakeServer((_m, url) => {
      if (url === "/api/auth/refresh") return [200, SIGNED_IN];
      if (url === "/api/me") return [200, ME];
    });
    renderApp(<Who />, { client });
    expect(await screen.findByText(/signed_in ann@example.com Ann's org/)).toBeInTheDocument();
    expect(calls[0].headers["X-GPTAPI-CSRF"]).toBe("1");
  });

  it("remembers the chosen organization", async () => {
    localStorage.setItem("gptapi.session", "1");
    localStorage.setItem("gptapi.org", "9");
    const { client } = fakeServer((_m, url) => {
      if (url === "/api/auth/refresh") return [200, SIGNED_IN];
      if (url === "/api/me") return [200, ME];
    });
    renderApp(<Who />, { client });
    expect(await screen.findByText(/signed_in ann@example.com Team/)).toBeInTheDocument();
  });

  it("is signed out without a session, quietly", async () => {
    localStorage.setItem("gptapi.session", "1");
    const { client } = fakeServer(() => undefined);
    renderApp(<Who />, { client });
    expect(await screen.findByText(/signed_out/)).toBeInTheDocument();
    expect(localStorage.getItem("gptapi.session")).toBeNull();
    expect(screen.queryByRole("status", { name: /signed out/i })).not.toBeInTheDocument();
  });
});
