import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { count, dateTime, usd } from "@/lib/format";
import type { RequestRecord } from "./usage";

export function RequestTable({ rows }: { rows: RequestRecord[] }) {
  if (rows.length === 0) return <p className="text-muted-foreground text-sm">No requests yet. Create a key and make your first call.</p>;
  return (
    <Card className="py-2">
      <Table>
        <TableHeader>
          <TableRow>
            <TableHead className="pl-4">Time</TableHead>
            <TableHead>Model</TableHead>
            <TableHead>Key</TableHead>
            <TableHead>Status</TableHead>
            <TableHead className="text-right">Tokens</TableHead>
            <TableHead className="text-right">Cost</TableHead>
            <TableHead className="pr-4 text-right">Latency</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {rows.map((r) => (
            <TableRow key={r.request_id}>
              <TableCell className="pl-4" title={r.request_id}>
                {dateTime(r.created_at)}
              </TableCell>
              <TableCell>
                <code>{r.model}</code>
              </TableCell>
              <TableCell className="text-muted-foreground">{r.key_id ?? "—"}</TableCell>
              <TableCell>
                <Badge variant={r.status < 400 ? "good" : r.status < 500 ? "warn" : "destructive"}>{r.status}</Badge>
              </TableCell>
              <TableCell className="text-right tabular-nums">{count(r.total_tokens)}</TableCell>
              <TableCell className="text-right tabular-nums">
                {usd(r.cost_usd)}
                {r.estimated && <span title="Estimated: the stream ended early"> *</span>}
              </TableCell>
              <TableCell className="pr-4 text-right tabular-nums">{r.latency_ms == null ? "—" : `${count(r.latency_ms)} ms`}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </Card>
  );
}
