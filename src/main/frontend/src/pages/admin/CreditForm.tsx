import { useState } from "react";
import { Button } from "@/components/ui/button";
import { FormField } from "@/components/ui/form-field";
import { usd } from "@/lib/format";
import { useModals } from "@/lib/modals";
import { toast } from "@/lib/toasts";

export interface CreditAnswer {
  amount_usd: string;
  balance_usd: string;
}

/** Dollars as the server's decimal string (up to 6 places); never a float. */
const AMOUNT = /^\d{1,9}(\.\d{1,6})?$/;

/**
 * Deposit or deduct credit for an organization: {usd, reason} to POST /api/admin/orgs/{id}/credits, asked through
 * the Confirm Action modal first. A deduction is sent as a negative amount; the server refuses one beyond the
 * available credit (402), which shows as a red toast.
 */
export function CreditForm({ orgName, post }: { orgName: string; post: (body: { usd: string; reason: string }) => Promise<CreditAnswer> }) {
  const { confirm } = useModals();
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const ask = (deduct: boolean) => {
    const problems: Record<string, string> = {};
    if (!AMOUNT.test(amount) || /^0*(\.0*)?$/.test(amount)) problems.usd = "Give an amount in dollars greater than zero, such as 25 or 10.50.";
    if (!reason.trim()) problems.reason = "Say why: it is kept in the ledger and the audit log.";
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    const shown = usd(amount);
    confirm({
      title: deduct ? `Deduct ${shown} from ${orgName}?` : `Deposit ${shown} to ${orgName}?`,
      description: `Reason: “${reason.trim()}”. This writes a ledger entry and an audit record; it cannot be undone, only corrected by another entry.`,
      confirmLabel: deduct ? "Deduct credit" : "Deposit credit",
      destructive: deduct,
      onConfirm: async () => {
        // A refusal (402 beyond the available credit) is shown by the Confirm Action modal, which stays open.
        const answer = await post({ usd: deduct ? `-${amount}` : amount, reason: reason.trim() });
        toast("good", deduct ? "Credit deducted" : "Credit deposited", `${usd(answer.amount_usd)}; the balance is now ${usd(answer.balance_usd)}.`);
        setAmount("");
        setReason("");
      },
    });
  };
  return (
    <form className="grid gap-3 sm:grid-cols-[10rem_1fr]" onSubmit={(e) => e.preventDefault()} noValidate>
      <FormField label="Amount (USD)" name="usd" inputMode="decimal" placeholder="25.00" value={amount} onChange={(e) => setAmount(e.target.value.trim())} error={errors.usd} />
      <FormField label="Reason" name="reason" maxLength={500} placeholder="Goodwill credit for the outage" value={reason} onChange={(e) => setReason(e.target.value)} error={errors.reason} />
      <div className="flex flex-wrap gap-2 sm:col-span-2">
        <Button type="button" onClick={() => ask(false)}>
          Deposit
        </Button>
        <Button type="button" variant="outline" onClick={() => ask(true)}>
          Deduct
        </Button>
      </div>
    </form>
  );
}
