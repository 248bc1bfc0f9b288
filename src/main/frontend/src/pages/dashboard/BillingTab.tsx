import { useQueryClient } from "@tanstack/react-query";
import { CreditCardIcon } from "lucide-react";
import { useCallback, useEffect, useRef, useState } from "react";
import { useSearchParams } from "react-router";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { useAuth } from "@/lib/auth";
import { usePublicConfig } from "@/lib/config";
import { routeError } from "@/lib/errors";
import { usd } from "@/lib/format";
import { toast } from "@/lib/toasts";
import { isUnavailable, stripePage, useBillingState, useLedger } from "./billing/api";
import { AutoRechargeCard } from "./billing/AutoRechargeCard";
import { LedgerSection } from "./billing/LedgerSection";
import { PaymentsSection } from "./billing/PaymentsSection";
import { PlansSection } from "./billing/PlansSection";
import { TopUpCard } from "./billing/TopUpCard";
import { TransferCard } from "./billing/TransferCard";
import { UnavailablePart } from "./billing/Unavailable";
import { QueryState, Stat, canManage, useBalance, useOrgApi } from "./shared";

/** How long the tab keeps asking for the balance after Stripe sent the browser back (the webhook credits it). */
const AWAIT_CREDIT_MS = 60_000;
const POLL_MS = 2_000;

/**
 * Stripe sends the browser back to /dashboard/billing?org=…&checkout=success&session_id=…|canceled (or
 * subscription=…): says what happened, switches to that org, and hands the paid session to `onPaid`. Returning
 * credits nothing: the signed webhook does, before or after the browser is back.
 */
function useReturnFromStripe(onPaid: (session: string | null) => void) {
  const [params, setParams] = useSearchParams();
  const { me, org, selectOrg } = useAuth();
  const queries = useQueryClient();
  const handled = useRef(false);
  useEffect(() => {
    const checkout = params.get("checkout");
    const subscription = params.get("subscription");
    if ((!checkout && !subscription) || !org) return;
    const wanted = Number(params.get("org"));
    if (wanted && wanted !== org.id && me?.organizations.some((o) => o.id === wanted)) {
      selectOrg(wanted); // this effect runs again for that org
      return;
    }
    if (handled.current) return;
    handled.current = true;
    if (checkout === "success") {
      toast("good", "Payment received", "Stripe is confirming it: the credit appears on your balance within a few seconds.");
      onPaid(params.get("session_id"));
    } else if (checkout) {
      toast("neutral", "Checkout canceled", "Nothing was charged.");
    }
    if (subscription === "success") {
      toast("good", "Subscription started", "Your plan and its included credit apply as soon as Stripe confirms the first payment.");
      onPaid(null);
    } else if (subscription) {
      toast("neutral", "Subscription not started", "Nothing was charged.");
    }
    void queries.invalidateQueries({ queryKey: ["org", org.id] });
    setParams({}, { replace: true });
  }, [params, setParams, me, org, selectOrg, queries, onPaid]);
}

/**
 * After a payment, polls the balance and the ledger for a minute; once the ledger shows the Checkout session's
 * credit (its reason names the session), says so, stops, and reads the billing state again (payments come from
 * Stripe, so the state is not polled).
 */
function useAwaitedCredit() {
  const { key } = useOrgApi();
  const queries = useQueryClient();
  const [awaited, setAwaited] = useState<{ session: string | null; until: number } | null>(null);
  const polling = awaited !== null;
  const balance = useBalance(polling ? POLL_MS : false);
  const ledger = useLedger(polling ? POLL_MS : false);
  useEffect(() => {
    if (!awaited) return;
    const stop = setTimeout(() => setAwaited(null), Math.max(0, awaited.until - Date.now()));
    return () => clearTimeout(stop);
  }, [awaited]);
  const session = awaited?.session;
  const credit = session ? ledger.data?.pages[0]?.data.find((e) => e.reason?.includes(session)) : undefined;
  useEffect(() => {
    if (!credit) return;
    toast("good", "Credit added", `${usd(credit.amount_usd)} from your payment is on your balance.`);
    setAwaited(null);
    void queries.invalidateQueries({ queryKey: key("credits") });
    void queries.invalidateQueries({ queryKey: key("billing") });
    // Once per credit entry (key() is a new function every render).
  }, [credit?.id]);
  const start = useCallback((paid: string | null) => setAwaited({ session: paid, until: Date.now() + AWAIT_CREDIT_MS }), []);
  return { balance, polling, start };
}

export default function BillingTab() {
  const { api, org, path } = useOrgApi();
  const config = usePublicConfig();
  const billingOn = config.data?.billing_enabled === true;
  const admin = canManage(org.role);
  const { balance, polling, start } = useAwaitedCredit();
  useReturnFromStripe(start);
  const state = useBillingState(billingOn);
  const [opening, setOpening] = useState(false);
  const portal = async () => {
    setOpening(true);
    try {
      const session = await api.post<{ url: string }>(path("/billing/portal"));
      stripePage.go(session.url);
    } catch (err) {
      routeError(err);
      setOpening(false);
    }
  };
  const s = state.data;
  return (
    <div className="grid gap-8">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div className="grid min-w-48 flex-1 gap-3 sm:max-w-xs">
          <Stat
            label="Balance"
            value={balance.data ? usd(balance.data.balance_usd) : "…"}
            hint={polling ? "Waiting for Stripe to confirm your payment…" : "Prepaid credit; every request is debited from it."}
          />
        </div>
        {billingOn && admin && (
          <Button variant="outline" disabled={opening} onClick={() => void portal()}>
            <CreditCardIcon /> {opening ? "Opening Stripe…" : "Customer portal"}
          </Button>
        )}
      </div>
      {config.data && !billingOn && (
        <Card className="px-4 py-3 text-sm" role="status">
          <p>
            <strong>Billing is not enabled on this server.</strong> Paying by card, plans, auto-recharge and receipts are not available here; an operator adds
            credit. You can still see your balance and ledger and transfer credit.
          </p>
        </Card>
      )}
      {!admin && <p className="text-muted-foreground text-sm">You are a member of {org.name}: only its admins and owners can add, transfer or manage credit.</p>}
      {admin && (
        <div className="grid items-start gap-4 md:grid-cols-2">
          {billingOn && config.data?.topup && <TopUpCard topup={config.data.topup} />}
          <TransferCard />
        </div>
      )}
      {billingOn && <QueryState isPending={state.isPending} error={state.error} />}
      {billingOn && s && (
        <>
          {isUnavailable(s.auto_recharge) ? (
            <UnavailablePart what="Auto-recharge" part={s.auto_recharge} />
          ) : (
            <AutoRechargeCard key={org.id} settings={s.auto_recharge} canEdit={admin} />
          )}
          <PlansSection state={s} canEdit={admin} onPortal={() => void portal()} />
          <PaymentsSection state={s} />
        </>
      )}
      <LedgerSection refetchInterval={polling ? POLL_MS : false} />
    </div>
  );
}
