import { useMutation } from "@tanstack/react-query";
import { useEffect } from "react";
import { useSearchParams } from "react-router";
import { Button } from "@/components/ui/button";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";
import { LinkCard, tokenFrom } from "./LinkCard";

/** /verify?token=…: the link from the sign-up e-mail. */
export default function VerifyPage() {
  const [search] = useSearchParams();
  const token = tokenFrom(search);
  const { open } = useModals();
  const { api } = useAuth();
  const verify = useMutation({
    mutationFn: (t: string) => api.post<{ message: string }>("/api/auth/verify", { token: t }, { auth: false }),
  });
  const { mutate } = verify;
  useEffect(() => {
    if (token) mutate(token);
  }, [token, mutate]);

  if (!token) return <LinkCard title="Link incomplete" description="This verification link has no token. Open the link from the e-mail again." />;
  if (verify.isError)
    return (
      <LinkCard title="Link not valid" description={verify.error.message}>
        <p className="text-sm">Register again to get a new link, or sign in if you already verified your address.</p>
        <Button onClick={() => open({ kind: "signin" })}>Sign in</Button>
      </LinkCard>
    );
  if (verify.isSuccess)
    return (
      <LinkCard title="E-mail verified" description={verify.data.message}>
        <Button onClick={() => open({ kind: "signin" })}>Sign in</Button>
      </LinkCard>
    );
  return <LinkCard title="Verifying your e-mail…" />;
}
