import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { fakeServer, renderApp } from "@/test/render";
import OAuthErrorPage from "./OAuthErrorPage";

describe("OAuth error page", () => {
  it("says what happened with the provider's name and what to do", async () => {
    renderApp(<OAuthErrorPage />, { client: fakeServer(() => undefined).client, path: "/oauth/error?reason=email_not_verified&provider=github" });
    expect(await screen.findByRole("heading", { name: "E-mail address not verified" })).toBeInTheDocument();
    expect(screen.getByText(/Verify it at GitHub first/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign in again" })).toBeInTheDocument();
  });

  it("an unknown reason reads as a generic failure, never echoing the URL", async () => {
    renderApp(<OAuthErrorPage />, { client: fakeServer(() => undefined).client, path: "/oauth/error?reason=<script>&provider=evil" });
    expect(await screen.findByRole("heading", { name: "Sign-in failed" })).toBeInTheDocument();
    expect(document.body.textContent).not.toContain("evil");
  });
});
