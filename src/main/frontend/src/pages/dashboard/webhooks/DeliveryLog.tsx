import { useMutation, useQueryClient } from "@tanstack/react-query";
import { RefreshCwIcon } from "lucide-react";
import { useId, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { routeError } from "@/lib/errors";
import { dateTime } from "@/lib/format";
import { toast } from "@/lib/toasts";
import { QueryState, useOrgApi } from "../shared";
import { type Delivery, type Endpoint, useDeliveries } from "./api";

const STATUS_VARIANT = { delivered: "good", pending: "warn", failed: "destructive" } as const;

function outcome(d: Delivery): string {
  if (d.response_status != null) return `HTTP ${d.response_status}`;
  return d.error ?? (d.status === "pending" && d.attempts === 0 ? "not sent yet" : "—");
}

/** An endpoint's messages: status, attempts, the receiver's answer (status, latency, first bytes), and resend. */
export function DeliveryLog({ endpoint }: { endpoint: Endpoint }) {
  const [status, setStatus] = useState("");
  const filterId = useId();
  const deliveries = useDeliveries(endpoint.id, status);
  const { api, path, key } = useOrgApi();
  const queries = useQueryClient();
  const resend = useMutation({
    mutationFn: (d: Delivery) => api.post(path(`/webhooks/${endpoint.id}/deliveries/${d.id}/resend`)),
    onSuccess: () => {
      toast("good", "Sent again", "The message goes out with the same webhook-id; watch its status here.");
      return queries.invalidateQueries({ queryKey: key("webhooks", endpoint.id, "deliveries") });
    },
    onError: (err) => routeError(err),
  });
  return (
    <div className="grid gap-2" aria-label={`Deliveries to ${endpoint.url}`} role="region">
      <div className="flex flex-wrap items-center gap-2">
        <label htmlFor={filterId} className="text-sm font-medium">
          Show
        </label>
        <select
          id={filterId}
          value={status}
          onChange={(e) => setStatus(e.target.value)}
          className="border-input bg-background h-8 rounded-md border px-2 text-sm"
        >
          <option value="">all deliveries</option>
          <option value="pending">pending</option>
          <option value="delivered">delivered</option>
          <option value="failed">failed</option>
        </select>
        <Button variant="ghost" size="sm" onClick={() => void deliveries.refetch()} aria-label="Refresh the delivery log">
          <RefreshCwIcon className={deliveries.isFetching ? "animate-spin" : undefined} /> Refresh
        </Button>
      </div>
      <QueryState isPending={deliveries.isPending} error={deliveries.error} />
      {deliveries.data?.length === 0 && (
        <p className="text-muted-foreground text-sm">No deliveries{status ? ` ${status}` : ""} yet. Send a test event to see one.</p>
      )}
      {deliveries.data && deliveries.data.length > 0 && (
        <Table aria-label="Delivery log">
          <TableHeader>
            <TableRow>
              <TableHead>Created</TableHead>
              <TableHead>Event</TableHead>
              <TableHead>Status</TableHead>
              <TableHead className="text-right">Attempts</TableHead>
              <TableHead>Answer</TableHead>
              <TableHead className="text-right">Latency</TableHead>
              <TableHead>Excerpt</TableHead>
              <TableHead className="text-right">
                <span className="sr-only">Actions</span>
              </TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {deliveries.data.map((d) => (
              <TableRow key={d.id}>
                <TableCell className="whitespace-nowrap">{dateTime(d.created_at)}</TableCell>
                <TableCell>
                  <code className="text-xs">{d.type}</code>
                  {d.event_count > 1 && <span className="text-muted-foreground text-xs"> ×{d.event_count}</span>}
                  <div className="text-muted-foreground text-xs">{d.id}</div>
                </TableCell>
                <TableCell>
                  <Badge variant={STATUS_VARIANT[d.status]}>{d.status}</Badge>
                  {d.status === "pending" && d.next_attempt_at && <div className="text-muted-foreground text-xs">next {dateTime(d.next_attempt_at)}</div>}
                </TableCell>
                <TableCell className="text-right tabular-nums">{d.attempts}</TableCell>
                <TableCell className="max-w-48 text-xs break-words">{outcome(d)}</TableCell>
                <TableCell className="text-right tabular-nums">{d.latency_ms != null ? `${d.latency_ms} ms` : "—"}</TableCell>
                <TableCell className="max-w-56">
                  {d.response_excerpt ? (
                    <details>
                      <summary className="cursor-pointer truncate text-xs">{d.response_excerpt.slice(0, 40)}</summary>
                      <pre className="bg-muted mt-1 max-h-40 overflow-auto rounded p-2 text-xs whitespace-pre-wrap">{d.response_excerpt}</pre>
                    </details>
                  ) : (
                    "—"
                  )}
                </TableCell>
                <TableCell className="text-right">
                  {d.status !== "pending" && (
                    <Button variant="outline" size="sm" disabled={resend.isPending} onClick={() => resend.mutate(d)} aria-label={`Resend ${d.id}`}>
                      Resend
                    </Button>
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </div>
  );
}
