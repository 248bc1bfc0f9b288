import { Link } from "react-router";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { compact, count, usd, utcDay } from "@/lib/format";
import { BarsChart, spendPoints } from "./charts";
import { RequestTable } from "./RequestTable";
import { QueryState, Section, Stat, useBalance } from "./shared";
import { useMonitor, useRequestLog, useSummary } from "./usage";

export default function OverviewTab() {
  const balance = useBalance();
  const monitor = useMonitor();
  const from = utcDay(-29);
  const to = utcDay(0);
  const days = useSummary("day", from, to);
  const recent = useRequestLog(5);
  const m = monitor.data;
  return (
    <div className="grid gap-8">
      <div className="grid grid-cols-2 gap-3 lg:grid-cols-4">
        <Stat label="Balance" value={balance.data ? usd(balance.data.balance_usd) : "…"} hint={<Link className="underline" to="/dashboard/billing">Billing</Link>} />
        <Stat label="Requests today" value={m ? count(m.today.requests) : "…"} hint={m && `${compact(m.today.tokens)} tokens`} />
        <Stat label="Spend today" value={m ? usd(m.today.cost_usd) : "…"} hint="UTC day" />
        <Stat
          label="This month"
          value={m ? usd(m.this_month.cost_usd) : "…"}
          hint={m && `${count(m.this_month.requests)} requests, ${compact(m.this_month.tokens)} tokens`}
        />
      </div>
      <Section title="Spend, last 30 days" description="Per UTC day.">
        <Card>
          <CardContent>
            <QueryState isPending={days.isPending} error={days.error} />
            {days.data && <BarsChart name="Spend" data={spendPoints(days.data.rows, (r) => (r.day ?? "").slice(5))} />}
          </CardContent>
        </Card>
      </Section>
      <Section
        title="Recent requests"
        action={
          <Button variant="outline" size="sm" asChild>
            <Link to="/dashboard/usage">All usage</Link>
          </Button>
        }
      >
        <QueryState isPending={recent.isPending} error={recent.error} />
        {recent.data && <RequestTable rows={recent.data.pages[0].data} />}
      </Section>
    </div>
  );
}
