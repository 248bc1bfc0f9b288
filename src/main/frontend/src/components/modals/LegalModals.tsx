import { DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";

export function PrivacyModal() {
  return (
    <>
      <DialogHeader>
        <DialogTitle>Privacy Policy</DialogTitle>
        <DialogDescription>What GPT API keeps about you, and why.</DialogDescription>
      </DialogHeader>
      <div className="grid gap-3 text-sm leading-relaxed">
        <p>
          <strong>Account data.</strong> Your e-mail address, name and a salted hash of your password (never the password
          itself), used to sign you in and to send you messages about your account.
        </p>
        <p>
          <strong>Usage records.</strong> For every API request: time, model, token counts, cost, latency and the key
          used. We keep these to bill you, to enforce your limits and to show you your usage. We do not store the
          content of prompts or answers.
        </p>
        <p>
          <strong>Payments.</strong> Card details go to our payment processor directly and never reach our servers.
        </p>
        <p>
          <strong>Cookies.</strong> One httpOnly cookie keeps you signed in. No tracking or advertising cookies.
        </p>
        <p>You can ask us to export or delete your data at any time through Contact Us.</p>
      </div>
    </>
  );
}

export function TermsModal() {
  return (
    <>
      <DialogHeader>
        <DialogTitle>Terms of Service</DialogTitle>
        <DialogDescription>The rules for using GPT API.</DialogDescription>
      </DialogHeader>
      <div className="grid gap-3 text-sm leading-relaxed">
        <p>
          <strong>Your keys.</strong> Keep your API keys secret; you are responsible for the requests made with them.
          Revoke a key at once if it leaks.
        </p>
        <p>
          <strong>Credits.</strong> Requests are paid from your organization's prepaid balance at the prices shown on
          the landing page. A request the balance cannot cover is refused.
        </p>
        <p>
          <strong>Fair use.</strong> No illegal content, no attacks on the service or others, no attempts to get
          around limits. We may suspend keys or accounts that break these rules.
        </p>
        <p>
          <strong>Availability.</strong> We work to keep the service up and report incidents on the Status page, but
          we do not guarantee uninterrupted service. Model answers may be wrong: check them.
        </p>
      </div>
    </>
  );
}
