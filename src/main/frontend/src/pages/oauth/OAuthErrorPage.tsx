import { Link, useSearchParams } from "react-router";
import { Button } from "@/components/ui/button";
import { useModals } from "@/lib/modals";
import { LinkCard } from "@/pages/links/LinkCard";

const PROVIDERS: Record<string, string> = { google: "Google", github: "GitHub", facebook: "Facebook", indeed: "Indeed" };

/** What each reason the OAuth callback sends (OAuthRoutes.failed) means, and what to do about it. */
export const REASONS: Record<string, (provider: string) => { title: string; text: string }> = {
  denied: (p) => ({ title: "Sign-in cancelled", text: `The sign-in with ${p} was cancelled or not allowed. Try again and allow GPT API access to your name and e-mail address.` }),
  invalid_state: () => ({ title: "Sign-in link expired", text: "This sign-in was started too long ago, in another browser, or was already used. Start the sign-in again from this browser." }),
  provider_error: (p) => ({ title: `${p} did not answer`, text: `GPT API could not complete the sign-in with ${p}. Please try again in a moment, or sign in with your e-mail and password.` }),
  email_missing: (p) => ({ title: "No e-mail address shared", text: `${p} did not share an e-mail address with GPT API. Allow access to your e-mail address, or register with e-mail and password.` }),
  email_not_verified: (p) => ({ title: "E-mail address not verified", text: `Your e-mail address at ${p} is not verified. Verify it at ${p} first, or sign in with your e-mail and password.` }),
  conflict: () => ({ title: "Sign-in interrupted", text: "Another sign-in for the same account happened at the same moment. Please sign in again." }),
  server_error: () => ({ title: "Sign-in failed", text: "Something went wrong on our side. Please try again; if it keeps happening, tell us through Contact Us." }),
};

/** /oauth/error?reason=&provider=: where a failed sign-in with Google, GitHub… lands, instead of raw JSON. */
export default function OAuthErrorPage() {
  const [search] = useSearchParams();
  const { open } = useModals();
  const provider = PROVIDERS[search.get("provider") ?? ""] ?? "the provider";
  const reason = REASONS[search.get("reason") ?? ""] ?? REASONS.server_error;
  const { title, text } = reason(provider);
  return (
    <LinkCard title={title} description={text}>
      <div className="flex flex-wrap gap-2">
        <Button onClick={() => open({ kind: "signin" })}>Sign in again</Button>
        <Button variant="outline" asChild>
          <Link to="/">Back to the start</Link>
        </Button>
      </div>
    </LinkCard>
  );
}
