import { CheckIcon } from "lucide-react";
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from "@/components/ui/card";
import { routeError } from "@/lib/errors";
import { compact, dateTime, usd } from "@/lib/format";
import { QueryState, Section, useOrgApi } from "../shared";
import { type BillingState, type Limits, type Plan, isUnavailable, stripePage, usePlans } from "./api";
import { UnavailablePart } from "./Unavailable";

function limitsText(l: Limits): string {
  const parts = [
    l.rpm != null && `${compact(l.rpm)} requests/min`,
    l.tpm != null && `${compact(l.tpm)} tokens/min`,
    l.concurrency != null && `${l.concurrency} concurrent per key`,
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "no limits";
}

const LIVE = new Set(["active", "trialing", "past_due", "incomplete", "unpaid"]);

/** The org's plan and subscription, and the plans for sale with a Subscribe button (Stripe Checkout). */
export function PlansSection({ state, canEdit, onPortal }: { state: BillingState; canEdit: boolean; onPortal: () => void }) {
  const plans = usePlans(true);
  const { api, path } = useOrgApi();
  const [busy, setBusy] = useState<string | null>(null);
  const current = isUnavailable(state.plan) ? null : state.plan;
  const sub = state.subscription;
  const subscribed = !isUnavailable(sub) && sub !== null && LIVE.has(sub.status);
  const subscribe = async (plan: Plan) => {
    setBusy(plan.id);
    try {
      const session = await api.post<{ url: string }>(path("/billing/subscription"), { plan: plan.id });
      stripePage.go(session.url);
    } catch (err) {
      routeError(err);
      setBusy(null);
    }
  };
  const all = plans.data ? [...(plans.data.free_plan ? [plans.data.free_plan] : []), ...plans.data.data] : [];
  return (
    <Section title="Plan" description="A plan sets your limits; a paid plan adds credit every month it renews.">
      {isUnavailable(state.plan) && <UnavailablePart what="Your plan" part={state.plan} />}
      {isUnavailable(sub) && <UnavailablePart what="Your subscription" part={sub} />}
      {!isUnavailable(sub) && sub && (
        <Card className="gap-1 px-4 py-3 text-sm" data-testid="subscription">
          <p>
            Subscription <Badge variant={sub.status === "active" || sub.status === "trialing" ? "good" : "warn"}>{sub.status.replace(/_/g, " ")}</Badge>
            {sub.current_period_end && (
              <>
                {" "}
                {sub.cancel_at_period_end ? "ends" : "renews"} on {dateTime(sub.current_period_end)}
              </>
            )}
          </p>
          <p className="text-muted-foreground">
            Change or cancel it in the Customer Portal.{" "}
            {canEdit && (
              <Button variant="link" className="h-auto p-0" onClick={onPortal}>
                Open the portal
              </Button>
            )}
          </p>
        </Card>
      )}
      <QueryState isPending={plans.isPending} error={plans.error} />
      <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" aria-label="Plans">
        {all.map((p) => {
          const isCurrent = current?.id === p.id;
          const forSale = p.monthly_price_micros > 0;
          return (
            <li key={p.id}>
              <Card className="h-full gap-3" aria-current={isCurrent || undefined}>
                <CardHeader>
                  <CardTitle className="flex flex-wrap items-center gap-2">
                    {p.name}
                    {isCurrent && (
                      <Badge variant="good">
                        <CheckIcon aria-hidden /> Current plan
                      </Badge>
                    )}
                  </CardTitle>
                  <CardDescription>{p.description}</CardDescription>
                </CardHeader>
                <CardContent className="grid gap-1 text-sm">
                  <p className="text-xl font-semibold tabular-nums">{forSale ? `${usd(p.monthly_price_usd)} / month` : "Pay as you go"}</p>
                  {p.included_credit_micros > 0 && <p>{usd(p.included_credit_usd)} of credit included each month</p>}
                  <p className="text-muted-foreground">{limitsText(p.limits)}</p>
                </CardContent>
                {forSale && !isCurrent && canEdit && !subscribed && (
                  <CardFooter className="mt-auto">
                    <Button disabled={busy !== null} onClick={() => void subscribe(p)} aria-label={`Subscribe to ${p.name}`}>
                      {busy === p.id ? "Opening Stripe…" : "Subscribe"}
                    </Button>
                  </CardFooter>
                )}
              </Card>
            </li>
          );
        })}
      </ul>
    </Section>
  );
}
