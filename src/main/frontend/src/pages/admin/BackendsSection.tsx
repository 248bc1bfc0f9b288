import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { FormField } from "@/components/ui/form-field";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { text, useSubmit } from "@/components/modals/useForm";
import { useAuth } from "@/lib/auth";
import { routeError } from "@/lib/errors";
import { useModals } from "@/lib/modals";
import { toast } from "@/lib/toasts";
import { QueryState, Section } from "@/pages/dashboard/shared";
import { Scroll } from "./shared";

interface AdminBackend {
  id: number;
  model: string;
  url: string;
  slots: number;
  weight: number;
  state: "enabled" | "draining";
  health: string | null;
  in_flight: number | null;
}

/** The add form's body: numbers only when given, so the server's defaults (4 slots, weight 1) apply otherwise. */
export function backendBody(data: FormData): Record<string, unknown> {
  const body: Record<string, unknown> = { model: text(data, "model").trim(), url: text(data, "url").trim() };
  for (const field of ["slots", "weight"]) {
    const v = text(data, field).trim();
    if (v) body[field] = /^\d+$/.test(v) ? Number(v) : v; // a non-number is left for the server to name
  }
  return body;
}

function AddBackend() {
  const { api } = useAuth();
  const queries = useQueryClient();
  const { busy, errors, onSubmit } = useSubmit(["model", "url", "slots", "weight"], async (data) => {
    const added = await api.post<AdminBackend>("/api/admin/backends", backendBody(data));
    toast("good", "Backend added", `#${added.id} for ${added.model}; gateways start routing to it once it is healthy.`);
    await queries.invalidateQueries({ queryKey: ["admin", "backends"] });
  });
  return (
    <form onSubmit={onSubmit} noValidate className="bg-card grid gap-3 rounded-xl border p-4 sm:grid-cols-[1fr_2fr_6rem_6rem_auto] sm:items-start">
      <FormField label="Model" name="model" required error={errors.model} />
      <FormField label="URL" name="url" required placeholder="http://10.0.0.5:8080" error={errors.url} />
      <FormField label="Slots" name="slots" inputMode="numeric" placeholder="4" error={errors.slots} />
      <FormField label="Weight" name="weight" inputMode="numeric" placeholder="1" error={errors.weight} />
      <Button type="submit" disabled={busy} className="sm:mt-[1.375rem]">
        Add
      </Button>
    </form>
  );
}

export default function BackendsSection() {
  const { api } = useAuth();
  const { confirm } = useModals();
  const queries = useQueryClient();
  const backends = useQuery({
    queryKey: ["admin", "backends"],
    queryFn: () => api.get<{ data: AdminBackend[] }>("/api/admin/backends"),
    refetchInterval: 10_000,
  });
  const act = async (b: AdminBackend, action: "drain" | "enable") => {
    try {
      await api.post(`/api/admin/backends/${b.id}/${action}`);
      toast("good", action === "drain" ? "Draining" : "Enabled", `#${b.id} ${b.model}`);
      await queries.invalidateQueries({ queryKey: ["admin", "backends"] });
    } catch (err) {
      routeError(err);
    }
  };
  const remove = (b: AdminBackend) =>
    confirm({
      title: `Remove backend #${b.id}?`,
      description: `${b.model} at ${b.url} stops getting requests on every gateway. Drain it first so no request is cut off.`,
      confirmLabel: "Remove backend",
      destructive: true,
      onConfirm: async () => {
        await api.delete(`/api/admin/backends/${b.id}`);
        toast("good", "Backend removed", `#${b.id} ${b.model}`);
        await queries.invalidateQueries({ queryKey: ["admin", "backends"] });
      },
    });
  return (
    <Section title="Backends" description="Inference servers, with this gateway's live health. Refreshes every 10 seconds.">
      <AddBackend />
      <QueryState isPending={backends.isPending} error={backends.error} />
      {backends.data && (
        <Scroll>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Backend</TableHead>
                <TableHead>State</TableHead>
                <TableHead>Health</TableHead>
                <TableHead className="text-right">In flight / slots</TableHead>
                <TableHead>Actions</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {backends.data.data.map((b) => (
                <TableRow key={b.id}>
                  <TableCell>
                    <div className="font-medium">
                      #{b.id} {b.model}
                    </div>
                    <div className="text-muted-foreground text-xs break-all">{b.url}</div>
                  </TableCell>
                  <TableCell>
                    <Badge variant={b.state === "enabled" ? "good" : "warn"}>{b.state}</Badge>
                  </TableCell>
                  <TableCell>{b.health ?? "not loaded here"}</TableCell>
                  <TableCell className="text-right tabular-nums">
                    {b.in_flight ?? "—"} / {b.slots}
                  </TableCell>
                  <TableCell className="space-x-2 whitespace-nowrap">
                    {b.state === "enabled" ? (
                      <Button size="sm" variant="outline" onClick={() => act(b, "drain")}>
                        Drain
                      </Button>
                    ) : (
                      <Button size="sm" variant="outline" onClick={() => act(b, "enable")}>
                        Enable
                      </Button>
                    )}
                    <Button size="sm" variant="destructive" aria-label={`Remove backend ${b.id}`} onClick={() => remove(b)}>
                      Remove
                    </Button>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Scroll>
      )}
    </Section>
  );
}
