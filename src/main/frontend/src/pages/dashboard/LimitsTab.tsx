import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Card } from "@/components/ui/card";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { count, inDuration, usd } from "@/lib/format";
import type { ApiKey } from "./KeysTab";
import { QueryState, Section, Stat, useOrgApi } from "./shared";

interface LimitWindow {
  kind: string;
  window: string;
  limit: number | null;
  remaining: number | null;
  reset_ms: number | null;
  reset_at: string | null;
}

interface LimitsReport {
  plan: { id: string; name: string };
  org: { windows: LimitWindow[]; concurrency_per_key: { limit: number | null } };
  credit: { balance_usd: string; available_usd: string };
  key?: { key_id: string; name: string; windows: LimitWindow[]; concurrency: { limit: number | null; in_flight: number | null } };
}

function Windows({ windows }: { windows: LimitWindow[] }) {
  return (
    <Card className="py-2">
      <Table>
        <TableHeader>
          <TableRow>
            <TableHead className="pl-4">Window</TableHead>
            <TableHead className="text-right">Limit</TableHead>
            <TableHead className="text-right">Remaining</TableHead>
            <TableHead className="w-1/4">Used</TableHead>
            <TableHead className="pr-4 text-right">Full again</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {windows.map((w) => {
            const used = w.limit && w.remaining != null ? Math.min(100, Math.round(((w.limit - w.remaining) / w.limit) * 100)) : 0;
            return (
              <TableRow key={`${w.kind}-${w.window}`}>
                <TableCell className="pl-4">
                  {w.kind} per {w.window}
                </TableCell>
                <TableCell className="text-right tabular-nums">{w.limit == null ? "none" : count(w.limit)}</TableCell>
                <TableCell className="text-right tabular-nums">{w.remaining == null ? "—" : count(w.remaining)}</TableCell>
                <TableCell>
                  {w.limit != null && (
                    <progress className="accent-primary h-2 w-full" max={100} value={used} aria-label={`${used}% used`} />
                  )}
                </TableCell>
                <TableCell className="pr-4 text-right">{w.limit == null ? "—" : w.reset_ms ? inDuration(w.reset_ms) : "now"}</TableCell>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </Card>
  );
}

export default function LimitsTab() {
  const { api, path, key } = useOrgApi();
  const [keyId, setKeyId] = useState<string>("");
  const keys = useQuery({ queryKey: key("keys"), queryFn: () => api.get<{ data: ApiKey[] }>(path("/keys")).then((r) => r.data) });
  const report = useQuery({
    queryKey: key("limits", keyId),
    queryFn: () => api.get<LimitsReport>(path(`/limits${keyId ? `?key_id=${encodeURIComponent(keyId)}` : ""}`)),
    refetchInterval: 10_000,
  });
  const r = report.data;
  return (
    <div className="grid gap-8">
      <QueryState isPending={report.isPending} error={report.error} />
      {r && (
        <div className="grid grid-cols-2 gap-3 md:grid-cols-3">
          <Stat label="Plan" value={r.plan.name} />
          <Stat label="Available credit" value={usd(r.credit.available_usd)} hint={`balance ${usd(r.credit.balance_usd)}`} />
          <Stat label="Concurrent requests per key" value={r.org.concurrency_per_key.limit ?? "no limit"} />
        </div>
      )}
      {r && (
        <Section title="Organization" description="Live: refreshed every 10 seconds. Windows refill continuously.">
          <Windows windows={r.org.windows} />
        </Section>
      )}
      <Section
        title="Per key"
        action={
          <Select value={keyId || "none"} onValueChange={(v) => setKeyId(v === "none" ? "" : v)}>
            <SelectTrigger aria-label="Key" className="w-56">
              <SelectValue placeholder="Choose a key" />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value="none">Choose a key</SelectItem>
              {(keys.data ?? []).filter((k) => k.status === "active" || k.status === "disabled").map((k) => (
                <SelectItem key={k.id} value={k.id}>
                  {k.name}
                </SelectItem>
              ))}
            </SelectContent>
          </Select>
        }
      >
        {r?.key ? (
          <Windows windows={r.key.windows} />
        ) : (
          <p className="text-muted-foreground text-sm">Choose a key to see its own windows.</p>
        )}
      </Section>
    </div>
  );
}
