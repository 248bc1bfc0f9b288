import { useMutation } from "@tanstack/react-query";
import { useNavigate, useSearchParams } from "react-router";
import { Button } from "@/components/ui/button";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";
import { toast } from "@/lib/toasts";
import { LinkCard, tokenFrom } from "./LinkCard";

/** /invite?token=…: joins the organization once signed in (the invitation is bound to the e-mail address). */
export default function InvitePage() {
  const [search] = useSearchParams();
  const token = tokenFrom(search);
  const { status, api, reloadMe, selectOrg } = useAuth();
  const { open } = useModals();
  const navigate = useNavigate();
  const accept = useMutation({
    mutationFn: (t: string) => api.post<{ organization: { id: number; name: string } }>("/api/invitations/accept", { token: t }),
    onSuccess: async (answer) => {
      await reloadMe();
      selectOrg(answer.organization.id);
      toast("good", "Welcome aboard", `You joined ${answer.organization.name}.`);
      navigate("/dashboard/organization");
    },
  });
  if (!token) return <LinkCard title="Link incomplete" description="This invitation link has no token. Open the link from the e-mail again." />;
  if (status === "loading") return <LinkCard title="Invitation" description="Loading…" />;
  if (status === "signed_out")
    return (
      <LinkCard title="You are invited" description="Sign in (or register with the invited e-mail address) to join the organization. Then open this link again.">
        <div className="flex gap-2">
          <Button onClick={() => open({ kind: "signin" })}>Sign in</Button>
          <Button variant="outline" onClick={() => open({ kind: "signup" })}>
            Register
          </Button>
        </div>
      </LinkCard>
    );
  return (
    <LinkCard title="You are invited" description="Join the organization that invited you?">
      {accept.isError && (
        <p role="alert" className="text-destructive text-sm">
          {accept.error.message}
        </p>
      )}
      <Button disabled={accept.isPending} onClick={() => accept.mutate(token)}>
        {accept.isPending ? "Joining…" : "Accept the invitation"}
      </Button>
    </LinkCard>
  );
}
