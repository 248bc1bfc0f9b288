import { type FormEvent, useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { FormField } from "@/components/ui/form-field";
import type { PublicConfig } from "@/lib/config";
import { type FieldErrors, routeError } from "@/lib/errors";
import { usd } from "@/lib/format";
import { useOrgApi } from "../shared";
import { stripePage } from "./api";
import { usdInput } from "./money";

/** Buys credit through Stripe Checkout: the browser leaves for Stripe and comes back to this tab. */
export function TopUpCard({ topup }: { topup: NonNullable<PublicConfig["topup"]> }) {
  const { api, path } = useOrgApi();
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const checkout = async (amount: string) => {
    setBusy(true);
    setErrors({});
    try {
      const session = await api.post<{ url: string }>(path("/billing/checkout"), { usd: amount });
      stripePage.go(session.url);
    } catch (err) {
      setErrors(routeError(err, ["usd"]));
      setBusy(false);
    }
  };
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const amount = usdInput(String(new FormData(e.currentTarget).get("usd") ?? ""), 2);
    if (!amount) {
      setErrors({ usd: `Enter an amount in dollars and cents between ${usd(topup.min_usd)} and ${usd(topup.max_usd)}, such as "25" or "25.50".` });
      return;
    }
    void checkout(amount);
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h3>Add credit</h3>
        </CardTitle>
        <CardDescription>
          Pay by card with Stripe Checkout ({usd(topup.min_usd)} to {usd(topup.max_usd)}). The credit arrives once Stripe confirms the payment; the card is
          saved for auto-recharge.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <div className="flex flex-wrap gap-2" role="group" aria-label="Top-up amounts">
          {topup.presets_usd.map((p) => (
            <Button key={p} variant="outline" disabled={busy} onClick={() => void checkout(p)}>
              Add {usd(p)}
            </Button>
          ))}
        </div>
        <form className="flex flex-wrap items-end gap-2" onSubmit={onSubmit} noValidate>
          <FormField className="min-w-40 flex-1" label="Other amount (USD)" name="usd" inputMode="decimal" placeholder="25.00" autoComplete="off" error={errors.usd} />
          <Button type="submit" disabled={busy}>
            {busy ? "Opening Stripe…" : "Pay with Stripe"}
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}
