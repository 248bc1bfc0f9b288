import { useNavigate } from "react-router";
import { Button } from "@/components/ui/button";
import { DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";
import { toast } from "@/lib/toasts";
import { OAuthButtons } from "./OAuthButtons";
import { text, useSubmit } from "./useForm";

export function SignInModal() {
  const { signIn } = useAuth();
  const { open, close } = useModals();
  const navigate = useNavigate();
  const { busy, errors, onSubmit } = useSubmit(["email", "password"], async (data) => {
    const result = await signIn(text(data, "email"), text(data, "password"));
    if (result.kind === "two_factor") {
      open({ kind: "two_factor", challenge: result.challenge });
      return;
    }
    close();
    navigate("/dashboard");
  });
  return (
    <>
      <DialogHeader>
        <DialogTitle>Sign in</DialogTitle>
        <DialogDescription>Welcome back to GPT API.</DialogDescription>
      </DialogHeader>
      <form className="grid gap-4" onSubmit={onSubmit} noValidate>
        <FormField label="E-mail" name="email" type="email" autoComplete="email" required error={errors.email} />
        <FormField label="Password" name="password" type="password" autoComplete="current-password" required error={errors.password} />
        <Button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </Button>
      </form>
      <OAuthButtons />
      <DialogFooter className="sm:justify-between">
        <Button variant="link" className="px-0" onClick={() => open({ kind: "forgot" })}>
          Forgot password?
        </Button>
        <Button variant="link" className="px-0" onClick={() => open({ kind: "signup" })}>
          No account? Register
        </Button>
      </DialogFooter>
    </>
  );
}

export function SignUpModal() {
  const { api } = useAuth();
  const { open, close } = useModals();
  const { busy, errors, onSubmit } = useSubmit(["name", "email", "password"], async (data) => {
    const answer = await api.post<{ message: string }>(
      "/api/auth/signup",
      { name: text(data, "name"), email: text(data, "email"), password: text(data, "password") },
      { auth: false },
    );
    close();
    toast("good", "Almost there", answer.message);
  });
  return (
    <>
      <DialogHeader>
        <DialogTitle>Create your account</DialogTitle>
        <DialogDescription>We send a link to verify your e-mail address.</DialogDescription>
      </DialogHeader>
      <form className="grid gap-4" onSubmit={onSubmit} noValidate>
        <FormField label="Name" name="name" autoComplete="name" error={errors.name} />
        <FormField label="E-mail" name="email" type="email" autoComplete="email" required error={errors.email} />
        <FormField
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          hint="At least 8 characters."
          error={errors.password}
        />
        <Button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Register"}
        </Button>
      </form>
      <OAuthButtons />
      <p className="text-muted-foreground text-sm">
        By registering you accept the{" "}
        <button type="button" className="underline" onClick={() => open({ kind: "terms" })}>
          Terms of Service
        </button>{" "}
        and the{" "}
        <button type="button" className="underline" onClick={() => open({ kind: "privacy" })}>
          Privacy Policy
        </button>
        .
      </p>
      <DialogFooter>
        <Button variant="link" className="px-0" onClick={() => open({ kind: "signin" })}>
          Already registered? Sign in
        </Button>
      </DialogFooter>
    </>
  );
}

export function ForgotPasswordModal() {
  const { api } = useAuth();
  const { open, close } = useModals();
  const { busy, errors, onSubmit } = useSubmit(["email"], async (data) => {
    const answer = await api.post<{ message: string }>("/api/auth/password/forgot", { email: text(data, "email") }, { auth: false });
    close();
    toast("neutral", "Check your e-mail", answer.message);
  });
  return (
    <>
      <DialogHeader>
        <DialogTitle>Forgot your password?</DialogTitle>
        <DialogDescription>We e-mail you a link to choose a new one.</DialogDescription>
      </DialogHeader>
      <form className="grid gap-4" onSubmit={onSubmit} noValidate>
        <FormField label="E-mail" name="email" type="email" autoComplete="email" required error={errors.email} />
        <Button type="submit" disabled={busy}>
          {busy ? "Sending…" : "Send the link"}
        </Button>
      </form>
      <DialogFooter>
        <Button variant="link" className="px-0" onClick={() => open({ kind: "signin" })}>
          Back to sign in
        </Button>
      </DialogFooter>
    </>
  );
}

export function TwoFactorModal({ challenge }: { challenge: string }) {
  const { verifyTwoFactor } = useAuth();
  const { close } = useModals();
  const navigate = useNavigate();
  const { busy, errors, onSubmit } = useSubmit(["code"], async (data) => {
    await verifyTwoFactor(challenge, text(data, "code").replaceAll(" ", ""));
    close();
    navigate("/dashboard");
  });
  return (
    <>
      <DialogHeader>
        <DialogTitle>Two-factor code</DialogTitle>
        <DialogDescription>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</DialogDescription>
      </DialogHeader>
      <form className="grid gap-4" onSubmit={onSubmit} noValidate>
        <FormField
          label="Code"
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          autoFocus
          required
          error={errors.code}
        />
        <Button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Verify"}
        </Button>
      </form>
    </>
  );
}
