import { DownloadIcon } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { compact, count, usd, utcDay } from "@/lib/format";
import { routeError } from "@/lib/errors";
import { BarsChart, spendPoints } from "./charts";
import { RequestTable } from "./RequestTable";
import { QueryState, Section, Stat, useOrgApi } from "./shared";
import { type UsageRow, useRequestLog, useSummary } from "./usage";

const RANGES = { "7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days" } as const;
type Range = keyof typeof RANGES;

function ByGroup({ groupBy, from, to }: { groupBy: "day" | "model" | "key"; from: string; to: string }) {
  const summary = useSummary(groupBy, from, to);
  const label = (r: UsageRow) => (groupBy === "day" ? (r.day ?? "").slice(5) : groupBy === "model" ? (r.model ?? "?") : (r.key_name ?? r.key_id ?? "?"));
  return (
    <Card>
      <CardContent className="grid gap-4">
        <QueryState isPending={summary.isPending} error={summary.error} />
        {summary.data && (
          <>
            <BarsChart name={`Spend by ${groupBy}`} data={spendPoints(summary.data.rows, label)} />
            <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
              <Stat label="Requests" value={count(summary.data.total.requests)} />
              <Stat label="Tokens" value={compact(summary.data.total.total_tokens)} />
              <Stat label="Spend" value={usd(summary.data.total.cost_usd)} />
              <Stat label="Median latency" value={summary.data.total.p50_latency_ms == null ? "—" : `${Math.round(summary.data.total.p50_latency_ms)} ms`} />
            </div>
          </>
        )}
      </CardContent>
    </Card>
  );
}

/** Fetches the CSV with the access token (a plain link could not send it) and saves it. */
function ExportButton({ from, to }: { from: string; to: string }) {
  const { api, path, org } = useOrgApi();
  const [busy, setBusy] = useState(false);
  const download = async () => {
    setBusy(true);
    try {
      const csv = await api.get<string>(path(`/usage/export.csv?from=${from}&to=${to}`));
      const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = `usage-${org.name}-${from}-${to}.csv`;
      a.click();
      URL.revokeObjectURL(url);
    } catch (err) {
      routeError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button variant="outline" size="sm" onClick={download} disabled={busy}>
      <DownloadIcon /> {busy ? "Exporting…" : "Export CSV"}
    </Button>
  );
}

function RequestLog() {
  const log = useRequestLog(25);
  return (
    <Section title="Request log" description="Newest first. Token counts and cost per request.">
      <QueryState isPending={log.isPending} error={log.error} />
      {log.data && <RequestTable rows={log.data.pages.flatMap((p) => p.data)} />}
      {log.hasNextPage && (
        <Button variant="outline" className="justify-self-center" disabled={log.isFetchingNextPage} onClick={() => log.fetchNextPage()}>
          {log.isFetchingNextPage ? "Loading…" : "Older requests"}
        </Button>
      )}
    </Section>
  );
}

export default function UsageTab() {
  const [range, setRange] = useState<Range>("30");
  const from = utcDay(1 - Number(range));
  const to = utcDay(0);
  return (
    <div className="grid gap-8">
      <Section
        title="Usage"
        description={`${from} to ${to}, UTC.`}
        action={
          <div className="flex gap-2">
            <Select value={range} onValueChange={(v) => setRange(v as Range)}>
              <SelectTrigger aria-label="Range" className="w-40">
                <SelectValue />
              </SelectTrigger>
              <SelectContent>
                {Object.entries(RANGES).map(([v, text]) => (
                  <SelectItem key={v} value={v}>
                    {text}
                  </SelectItem>
                ))}
              </SelectContent>
            </Select>
            <ExportButton from={from} to={to} />
          </div>
        }
      >
        <Tabs defaultValue="day">
          <TabsList>
            <TabsTrigger value="day">By day</TabsTrigger>
            <TabsTrigger value="model">By model</TabsTrigger>
            <TabsTrigger value="key">By key</TabsTrigger>
          </TabsList>
          {(["day", "model", "key"] as const).map((g) => (
            <TabsContent key={g} value={g}>
              <ByGroup groupBy={g} from={from} to={to} />
            </TabsContent>
          ))}
        </Tabs>
      </Section>
      <RequestLog />
    </div>
  );
}
