import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { FormField } from "@/components/ui/form-field";
import { ApiError } from "@/lib/api";
import { useAuth } from "@/lib/auth";
import type { FieldErrors } from "@/lib/errors";
import { usd } from "@/lib/format";
import { useModals } from "@/lib/modals";
import { toast } from "@/lib/toasts";
import { useOrgApi } from "../shared";
import { usdInput } from "./money";

const FIELDS = ["to_org_id", "usd", "reason"];
const OTHER = "other";

interface Transfer {
  to_org_id: number;
  amount_usd: string;
  balance_usd: string;
}

/** Moves credit to another organization (one of the user's, or any by its id), after a Confirm Action. */
export function TransferCard() {
  const { me } = useAuth();
  const { api, org, path, key } = useOrgApi();
  const queries = useQueryClient();
  const { confirm } = useModals();
  const mine = (me?.organizations ?? []).filter((o) => o.id !== org.id);
  const [target, setTarget] = useState<string>(mine[0] ? String(mine[0].id) : OTHER);
  const [errors, setErrors] = useState<FieldErrors>({});
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const form = e.currentTarget;
    const to = target === OTHER ? String(data.get("other_org") ?? "").trim() : target;
    const amount = usdInput(String(data.get("usd") ?? ""));
    const reason = String(data.get("reason") ?? "").trim();
    const found: FieldErrors = {};
    if (!/^[1-9]\d{0,17}$/.test(to)) found.to_org_id = "Enter the receiving organization's id (a number; it is on its Organization tab).";
    if (!amount) found.usd = 'Enter an amount in USD above zero, such as "5" or "2.50".';
    if (!reason) found.reason = "Say why, for both organizations' ledgers.";
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const name = mine.find((o) => String(o.id) === to)?.name ?? `organization ${to}`;
    confirm({
      title: `Send ${usd(amount)} to ${name}?`,
      description: `The credit leaves ${org.name} now and cannot be taken back from here; only someone in ${name} could send it back.`,
      confirmLabel: "Send credit",
      onConfirm: async () => {
        try {
          const done = await api.post<Transfer>(path("/credits/transfer"), { to_org_id: Number(to), usd: amount, reason });
          toast("good", `Sent ${usd(done.amount_usd)} to ${name}`, `Your balance is now ${usd(done.balance_usd)}.`);
          form.reset();
          await Promise.all([queries.invalidateQueries({ queryKey: key("credits") }), queries.invalidateQueries({ queryKey: key("ledger") })]);
        } catch (err) {
          // A field the form has (an unknown organization, too large an amount) is shown on it, not in a toast.
          if (err instanceof ApiError && err.param && FIELDS.includes(err.param)) {
            setErrors({ [err.param]: err.message });
            return;
          }
          throw err;
        }
      },
    });
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h3>Transfer credit</h3>
        </CardTitle>
        <CardDescription>Pay for another organization's usage from this balance.</CardDescription>
      </CardHeader>
      <CardContent>
        <form className="grid gap-3" onSubmit={onSubmit} noValidate aria-label="Transfer credit">
          <div className="grid gap-2">
            <label htmlFor="transfer-to" className="text-sm font-medium">
              To
            </label>
            <select
              id="transfer-to"
              value={target}
              onChange={(e) => setTarget(e.target.value)}
              className="border-input bg-background h-9 rounded-md border px-3 text-sm"
              aria-invalid={errors.to_org_id && target !== OTHER ? true : undefined}
            >
              {mine.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name} (#{o.id})
                </option>
              ))}
              <option value={OTHER}>Another organization, by its id</option>
            </select>
          </div>
          {target === OTHER && (
            <FormField label="Organization id" name="other_org" inputMode="numeric" autoComplete="off" error={errors.to_org_id} />
          )}
          {target !== OTHER && errors.to_org_id && (
            <p role="alert" className="text-destructive text-sm">
              {errors.to_org_id}
            </p>
          )}
          <FormField label="Amount (USD)" name="usd" inputMode="decimal" placeholder="5.00" autoComplete="off" error={errors.usd} />
          <FormField label="Reason" name="reason" maxLength={500} placeholder="March usage of the team" error={errors.reason} />
          <Button type="submit" className="justify-self-start">
            Transfer
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}
