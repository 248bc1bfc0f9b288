import { useState } from "react";
import { useSearchParams } from "react-router";
import { text, useSubmit } from "@/components/modals/useForm";
import { Button } from "@/components/ui/button";
import { FormField } from "@/components/ui/form-field";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";
import { LinkCard, tokenFrom } from "./LinkCard";

/** /reset-password?token=… (also /reset): the link from the forgot-password e-mail. */
export default function ResetPasswordPage() {
  const [search] = useSearchParams();
  const token = tokenFrom(search);
  const { open } = useModals();
  const { api } = useAuth();
  const [done, setDone] = useState<string | null>(null);
  const { busy, errors, onSubmit } = useSubmit(["password", "token"], async (data) => {
    const answer = await api.post<{ message: string }>(
      "/api/auth/password/reset",
      { token, password: text(data, "password") },
      { auth: false },
    );
    setDone(answer.message);
  });
  if (!token) return <LinkCard title="Link incomplete" description="This reset link has no token. Open the link from the e-mail again." />;
  if (done)
    return (
      <LinkCard title="Password changed" description={done}>
        <Button onClick={() => open({ kind: "signin" })}>Sign in</Button>
      </LinkCard>
    );
  return (
    <LinkCard title="Choose a new password" description="Every other session is signed out when you change it.">
      {errors.token && (
        <p role="alert" className="text-destructive text-sm">
          {errors.token}{" "}
          <button type="button" className="underline" onClick={() => open({ kind: "forgot" })}>
            Send a new link
          </button>
        </p>
      )}
      <form className="grid gap-4" onSubmit={onSubmit} noValidate>
        <FormField label="New password" name="password" type="password" autoComplete="new-password" required hint="At least 8 characters." error={errors.password} />
        <Button type="submit" disabled={busy}>
          {busy ? "Saving…" : "Set the password"}
        </Button>
      </form>
    </LinkCard>
  );
}
