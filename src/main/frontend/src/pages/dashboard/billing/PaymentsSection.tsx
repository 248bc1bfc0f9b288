import { ExternalLinkIcon } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { dateTime, usd } from "@/lib/format";
import { Section } from "../shared";
import { type BillingState, type Payment, isUnavailable } from "./api";
import { UnavailablePart } from "./Unavailable";

function paymentBadges(p: Payment) {
  return (
    <div className="flex flex-wrap gap-1">
      <Badge variant={p.status === "succeeded" ? "good" : p.status === "failed" ? "destructive" : "secondary"}>{p.status}</Badge>
      {p.refunded ? <Badge variant="warn">refunded</Badge> : p.amount_refunded_micros > 0 && <Badge variant="warn">partly refunded</Badge>}
      {p.disputed && <Badge variant="destructive">disputed</Badge>}
    </div>
  );
}

/** Stripe's latest charges with their receipts, refunds and disputes; a suspension said first and plainly. */
export function PaymentsSection({ state }: { state: BillingState }) {
  const { payments, disputes } = state;
  return (
    <>
      {!isUnavailable(disputes) && disputes.suspended && (
        <p role="alert" className="border-destructive bg-destructive/10 rounded-md border p-3 text-sm">
          <strong>API access is suspended</strong> because a payment to this organization is disputed. Requests with its keys answer 402 until the dispute is
          closed; contact your bank or card issuer to resolve it.
        </p>
      )}
      <Section title="Payments" description="Your latest payments as Stripe records them: top-ups, auto-recharges and subscription invoices.">
        {isUnavailable(payments) ? (
          <UnavailablePart what="Payments" part={payments} />
        ) : payments.length === 0 ? (
          <p className="text-muted-foreground text-sm">No payments yet.</p>
        ) : (
          <Card className="py-2">
            <Table aria-label="Payments">
              <TableHeader>
                <TableRow>
                  <TableHead className="pl-4">When</TableHead>
                  <TableHead>Description</TableHead>
                  <TableHead className="text-right">Amount</TableHead>
                  <TableHead className="text-right">Refunded</TableHead>
                  <TableHead>Status</TableHead>
                  <TableHead className="pr-4">Receipt</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {payments.map((p) => (
                  <TableRow key={p.id}>
                    <TableCell className="pl-4 whitespace-nowrap">{dateTime(p.created)}</TableCell>
                    <TableCell className="text-muted-foreground max-w-64 truncate">{p.description ?? p.id}</TableCell>
                    <TableCell className="text-right tabular-nums">{usd(p.amount_usd)}</TableCell>
                    <TableCell className="text-right tabular-nums">{p.amount_refunded_micros > 0 ? usd(p.amount_refunded_usd) : "—"}</TableCell>
                    <TableCell>{paymentBadges(p)}</TableCell>
                    <TableCell className="pr-4">
                      {p.receipt_url ? (
                        <a
                          className="text-primary inline-flex items-center gap-1 underline-offset-4 hover:underline"
                          href={p.receipt_url}
                          target="_blank"
                          rel="noopener noreferrer"
                          aria-label={`Receipt for ${usd(p.amount_usd)} of ${dateTime(p.created)} (opens Stripe)`}
                        >
                          Receipt <ExternalLinkIcon className="size-3" aria-hidden />
                        </a>
                      ) : (
                        "—"
                      )}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </Card>
        )}
      </Section>
      {isUnavailable(disputes) ? (
        <UnavailablePart what="Disputes" part={disputes} />
      ) : (
        disputes.data.length > 0 && (
          <Section title="Disputes" description="Chargebacks and inquiries on your payments. A lost dispute debits its amount.">
            <Card className="py-2">
              <Table aria-label="Disputes">
                <TableHeader>
                  <TableRow>
                    <TableHead className="pl-4">Opened</TableHead>
                    <TableHead className="text-right">Amount</TableHead>
                    <TableHead>Reason</TableHead>
                    <TableHead>Status</TableHead>
                    <TableHead className="pr-4">Closed</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {disputes.data.map((d) => (
                    <TableRow key={d.id}>
                      <TableCell className="pl-4 whitespace-nowrap">{dateTime(d.opened_at)}</TableCell>
                      <TableCell className="text-right tabular-nums">{usd(d.amount_usd)}</TableCell>
                      <TableCell>{d.reason?.replace(/_/g, " ") ?? "—"}</TableCell>
                      <TableCell>
                        <Badge variant={d.open ? "destructive" : d.status === "lost" ? "warn" : "secondary"}>{d.open ? "open" : d.status.replace(/_/g, " ")}</Badge>
                      </TableCell>
                      <TableCell className="pr-4 whitespace-nowrap">{dateTime(d.closed_at)}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </Card>
          </Section>
        )
      )}
    </>
  );
}
