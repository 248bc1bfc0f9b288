import { useMutation } from "@tanstack/react-query";
import QRCode from "qrcode";
import { useEffect, useState } from "react";
import { text, useSubmit } from "@/components/modals/useForm";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { FormField } from "@/components/ui/form-field";
import { useAuth } from "@/lib/auth";
import { routeError } from "@/lib/errors";
import { toast } from "@/lib/toasts";
import { CopyButton } from "@/pages/landing/CodeSample";

function Profile() {
  const { me } = useAuth();
  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h2>Profile</h2>
        </CardTitle>
        <CardDescription>Your sign-in address and name.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-1 text-sm">
        <div>
          <span className="text-muted-foreground">E-mail: </span>
          {me?.email} {me?.email_verified && <Badge variant="good">verified</Badge>}
        </div>
        <div>
          <span className="text-muted-foreground">Name: </span>
          {me?.name || "—"}
        </div>
      </CardContent>
    </Card>
  );
}

function ChangePassword() {
  const { api } = useAuth();
  const { busy, errors, onSubmit } = useSubmit(["current_password", "new_password"], async (data) => {
    const answer = await api.post<{ message: string }>("/api/auth/password/change", {
      current_password: text(data, "current_password"),
      new_password: text(data, "new_password"),
    });
    toast("good", "Password changed", answer.message);
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h2>Password</h2>
        </CardTitle>
        <CardDescription>Changing it signs out every other session.</CardDescription>
      </CardHeader>
      <CardContent>
        <form className="grid max-w-sm gap-4" onSubmit={onSubmit} noValidate>
          <FormField label="Current password" name="current_password" type="password" autoComplete="current-password" required error={errors.current_password} />
          <FormField label="New password" name="new_password" type="password" autoComplete="new-password" required hint="At least 8 characters." error={errors.new_password} />
          <Button type="submit" className="justify-self-start" disabled={busy}>
            Change password
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}

/** The otpauth:// URI as a QR code, drawn in the browser: the secret never leaves the page. */
export function QrCode({ uri }: { uri: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    QRCode.toString(uri, { type: "svg", margin: 1, errorCorrectionLevel: "M" }).then((svg) => {
      if (live) setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`);
    });
    return () => {
      live = false;
    };
  }, [uri]);
  return src ? <img src={src} alt="QR code for your authenticator app" width={192} height={192} className="rounded-md bg-white p-2" /> : null;
}

function RecoveryCodes({ codes }: { codes: string[] }) {
  return (
    <div className="grid gap-3">
      <p className="text-sm">
        <strong>Save these ten recovery codes</strong> somewhere safe. Each signs you in once if you lose your authenticator. They are
        not shown again.
      </p>
      <ul className="bg-muted grid grid-cols-2 gap-1 rounded-md p-3 font-mono text-sm" aria-label="Recovery codes">
        {codes.map((c) => (
          <li key={c}>{c}</li>
        ))}
      </ul>
      <CopyButton text={codes.join("\n")} label="Copy the recovery codes" />
    </div>
  );
}

function TwoFactor() {
  const { api, me, reloadMe } = useAuth();
  const [enrollment, setEnrollment] = useState<{ secret: string; otpauth_uri: string } | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const enabled = me?.two_factor_enabled === true;
  const enroll = useMutation({
    mutationFn: () => api.post<{ secret: string; otpauth_uri: string }>("/api/auth/2fa/enroll"),
    onSuccess: setEnrollment,
    onError: (err) => routeError(err),
  });
  const confirm = useSubmit(["code"], async (data) => {
    const answer = await api.post<{ recovery_codes: string[] }>("/api/auth/2fa/confirm", { code: text(data, "code").replaceAll(" ", "") });
    setCodes(answer.recovery_codes);
    setEnrollment(null);
    await reloadMe();
    toast("good", "Two-factor authentication is on");
  });
  const disable = useSubmit(["password", "code"], async (data) => {
    const answer = await api.post<{ message: string }>("/api/auth/2fa/disable", {
      password: text(data, "password"),
      code: text(data, "code").replaceAll(" ", ""),
    });
    setCodes(null);
    await reloadMe();
    toast("warn", "Two-factor authentication is off", answer.message);
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h2>
            Two-factor authentication <Badge variant={enabled ? "good" : "secondary"}>{enabled ? "on" : "off"}</Badge>
          </h2>
        </CardTitle>
        <CardDescription>A code from an authenticator app at every sign-in, on top of your password.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {codes && <RecoveryCodes codes={codes} />}
        {!enabled && !enrollment && (
          <Button className="justify-self-start" disabled={enroll.isPending} onClick={() => enroll.mutate()}>
            Set up two-factor authentication
          </Button>
        )}
        {!enabled && enrollment && (
          <div className="grid gap-4 md:grid-cols-[auto_1fr]">
            <QrCode uri={enrollment.otpauth_uri} />
            <div className="grid content-start gap-3">
              <p className="text-sm">Scan the code with your authenticator app, or enter this key by hand:</p>
              <code className="bg-muted rounded-md p-2 text-sm break-all" data-testid="totp-secret">
                {enrollment.secret}
              </code>
              <form className="grid max-w-xs gap-3" onSubmit={confirm.onSubmit} noValidate>
                <FormField label="6-digit code from the app" name="code" inputMode="numeric" autoComplete="one-time-code" required error={confirm.errors.code} />
                <Button type="submit" className="justify-self-start" disabled={confirm.busy}>
                  Turn on
                </Button>
              </form>
            </div>
          </div>
        )}
        {enabled && (
          <form className="grid max-w-sm gap-3" onSubmit={disable.onSubmit} noValidate>
            <p className="text-sm">To turn it off, confirm with your password and a current code.</p>
            <FormField label="Password" name="password" type="password" autoComplete="current-password" required error={disable.errors.password} />
            <FormField label="Code" name="code" inputMode="numeric" autoComplete="one-time-code" required error={disable.errors.code} />
            <Button type="submit" variant="destructive" className="justify-self-start" disabled={disable.busy}>
              Turn off
            </Button>
          </form>
        )}
      </CardContent>
    </Card>
  );
}

export default function SecurityTab() {
  return (
    <div className="grid gap-6">
      <Profile />
      <ChangePassword />
      <TwoFactor />
    </div>
  );
}
