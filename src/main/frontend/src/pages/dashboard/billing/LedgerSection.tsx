import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { dateTime, usd } from "@/lib/format";
import { cn } from "@/lib/utils";
import { QueryState, Section } from "../shared";
import { useLedger } from "./api";
import { isNegative } from "./money";

/** Every credit and debit of the org, newest first, with "Show more" for older pages. */
export function LedgerSection({ refetchInterval }: { refetchInterval: number | false }) {
  const ledger = useLedger(refetchInterval);
  const entries = ledger.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <Section title="Ledger" description="Every credit and debit of this organization, newest first. Usage is one debit per request.">
      <QueryState isPending={ledger.isPending} error={ledger.error} />
      {ledger.data && entries.length === 0 && <p className="text-muted-foreground text-sm">No entries yet.</p>}
      {entries.length > 0 && (
        <Card className="py-2">
          <Table aria-label="Ledger">
            <TableHeader>
              <TableRow>
                <TableHead className="pl-4">When</TableHead>
                <TableHead>Kind</TableHead>
                <TableHead>Reason</TableHead>
                <TableHead className="pr-4 text-right">Amount</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {entries.map((e) => (
                <TableRow key={e.id}>
                  <TableCell className="pl-4 whitespace-nowrap">{dateTime(e.created_at)}</TableCell>
                  <TableCell>
                    <Badge variant="secondary">{e.kind.replace(/_/g, " ")}</Badge>
                  </TableCell>
                  <TableCell className="text-muted-foreground max-w-80 truncate" title={e.reason ?? e.request_id ?? undefined}>
                    {e.reason ?? e.request_id ?? "—"}
                  </TableCell>
                  <TableCell className={cn("pr-4 text-right tabular-nums", isNegative(e.amount_usd) ? "text-destructive" : "text-good")}>
                    {isNegative(e.amount_usd) ? "" : "+"}
                    {usd(e.amount_usd)}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      )}
      {ledger.hasNextPage && (
        <Button variant="outline" className="justify-self-start" disabled={ledger.isFetchingNextPage} onClick={() => ledger.fetchNextPage()}>
          {ledger.isFetchingNextPage ? "Loading…" : "Show older entries"}
        </Button>
      )}
    </Section>
  );
}
