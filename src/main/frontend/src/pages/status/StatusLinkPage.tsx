import { useMutation } from "@tanstack/react-query";
import { useEffect } from "react";
import { Link, useSearchParams } from "react-router";
import { Button } from "@/components/ui/button";
import { useAuth } from "@/lib/auth";
import { LinkCard, tokenFrom } from "@/pages/links/LinkCard";

const ACTIONS = {
  confirm: { path: "/api/status/confirm", working: "Confirming your subscription…", done: "Subscription confirmed", doneText: "You will get an e-mail when GPT API has an incident, and when it is resolved." },
  unsubscribe: { path: "/api/status/unsubscribe", working: "Unsubscribing…", done: "Unsubscribed", doneText: "You will not get status e-mails any more." },
} as const;

/** /status/confirm?token= and /status/unsubscribe?token=: the links in the status e-mails (StatusRoutes, IncidentMail). */
export default function StatusLinkPage({ action }: { action: keyof typeof ACTIONS }) {
  const [search] = useSearchParams();
  const token = tokenFrom(search);
  const { api } = useAuth();
  const what = ACTIONS[action];
  const use = useMutation({ mutationFn: (t: string) => api.post(what.path, { token: t }, { auth: false }) });
  const { mutate } = use;
  useEffect(() => {
    if (token) mutate(token);
  }, [token, mutate]);
  const back = (
    <Button asChild variant="outline">
      <Link to="/status">See the status page</Link>
    </Button>
  );
  if (!token) return <LinkCard title="Link incomplete" description="This link has no token. Open the link from the e-mail again.">{back}</LinkCard>;
  if (use.isError)
    return (
      <LinkCard title="Link not valid" description={use.error.message}>
        <p className="text-sm">{action === "confirm" ? "Confirmation links last 24 hours: subscribe again on the status page." : "Open the newest status e-mail and use its link."}</p>
        {back}
      </LinkCard>
    );
  if (use.isSuccess)
    return (
      <LinkCard title={what.done} description={what.doneText}>
        {back}
      </LinkCard>
    );
  return <LinkCard title={what.working} />;
}
