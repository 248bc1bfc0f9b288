import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { Header } from "@/components/layout/Header";
import { ME, SIGNED_IN, fakeServer, renderApp } from "@/test/render";

describe("sign-in modal", () => {
  it("opens from the header, signs in, and the header then offers the dashboard", async () => {
    const user = userEvent.setup();
    const { client, calls } = fakeServer((_method, url, body) => {
      if (url === "/api/auth/signin") {
        expect(body).toEqual({ email: "ann@example.com", password: "correct horse" });
        return [200, SIGNED_IN];
      }
      if (url === "/api/me") return [200, ME];
    });
    renderApp(<Header />, { client });
    await user.click(await screen.findByRole("button", { name: "Sign In" }));
    const dialog = await screen.findByRole("dialog", { name: "Sign in" });
    expect(dialog).toContainElement(document.activeElement as HTMLElement); // focus moved into the dialog
    await user.type(screen.getByLabelText("E-mail"), "ann@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent("/dashboard"));
    expect(await screen.findByRole("link", { name: "Dashboard" })).toBeInTheDocument();
    expect(calls.find((c) => c.url === "/api/me")?.headers.Authorization).toBe("Bearer tok");
  });

  it("shows the server's error on the field it names, and a red toast otherwise", async () => {
    const user = userEvent.setup();
    let attempt = 0;
    const { client } = fakeServer((_m, url) => {
      if (url !== "/api/auth/signin") return undefined;
      return attempt++ === 0
        ? [400, { error: { message: "'email' is not an e-mail address.", type: "invalid_request_error", param: "email", code: null } }]
        : [401, { error: { message: "Wrong e-mail or password.", type: "invalid_request_error", param: null, code: "invalid_credentials" } }];
    });
    renderApp(<Header />, { client });
    await user.click(await screen.findByRole("button", { name: "Sign In" }));
    await user.type(await screen.findByLabelText("E-mail"), "ann");
    await user.type(screen.getByLabelText("Password"), "x");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    const email = screen.getByLabelText("E-mail");
    await waitFor(() => expect(email).toHaveAttribute("aria-invalid", "true"));
    expect(email).toHaveAccessibleDescription("'email' is not an e-mail address.");

    await user.click(screen.getByRole("button", { name: "Sign in" }));
    const toast = await screen.findByText("Wrong e-mail or password.");
    expect(toast.closest("[data-kind]")).toHaveAttribute("data-kind", "bad");
    expect(screen.getByRole("dialog")).toBeInTheDocument(); // still open to try again
  });

  it("asks for the 2FA code when the password is right and 2FA is on", async () => {
    const user = userEvent.setup();
    const { client } = fakeServer((_m, url, body) => {
      if (url === "/api/auth/signin") return [200, { two_factor_required: true, challenge: "ch-1" }];
      if (url === "/api/auth/2fa/verify") {
        expect(body).toEqual({ challenge: "ch-1", code: "123456" });
        return [200, SIGNED_IN];
      }
      if (url === "/api/me") return [200, ME];
    });
    renderApp(<Header />, { client });
    await user.click(await screen.findByRole("button", { name: "Sign In" }));
    await user.type(await screen.findByLabelText("E-mail"), "ann@example.com");
    await user.type(screen.getByLabelText("Password"), "pw");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await screen.findByRole("dialog", { name: "Two-factor code" });
    await user.type(screen.getByLabelText("Code"), "123 456");
    await user.click(screen.getByRole("button", { name: "Verify" }));
    await waitFor(() => expect(screen.getByTestId("location")).toHaveTextContent("/dashboard"));
  });

  it("closes on Escape and keeps Tab inside the dialog", async () => {
    const user = userEvent.setup();
    const { client } = fakeServer(() => undefined);
    renderApp(<Header />, { client });
    await user.click(await screen.findByRole("button", { name: "Register" }));
    const dialog = await screen.findByRole("dialog", { name: "Create your account" });
    for (let i = 0; i < 15; i++) {
      await user.tab();
      expect(dialog).toContainElement(document.activeElement as HTMLElement);
    }
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });
});
