import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { useAuth } from "@/lib/auth";
import { routeError } from "@/lib/errors";
import { count } from "@/lib/format";
import { toast } from "@/lib/toasts";
import { QueryState, Section } from "@/pages/dashboard/shared";
import { Scroll } from "./shared";

export interface AdminModel {
  id: string;
  display_name: string;
  kind: string;
  input_price_usd_per_m: string;
  output_price_usd_per_m: string;
  default_max_tokens: number;
  max_max_tokens: number;
  context_length: number;
  active: boolean;
}

/** Only the fields that changed are sent (PATCH /api/admin/models/{id}); prices stay decimal strings. */
export function modelChanges(model: AdminModel, input: string, output: string, active: boolean): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  if (input !== model.input_price_usd_per_m) changes.input_price_usd_per_m = input;
  if (output !== model.output_price_usd_per_m) changes.output_price_usd_per_m = output;
  if (active !== model.active) changes.active = active;
  return changes;
}

function ModelRow({ model }: { model: AdminModel }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const [input, setInput] = useState(model.input_price_usd_per_m);
  const [output, setOutput] = useState(model.output_price_usd_per_m);
  const [active, setActive] = useState(model.active);
  const [busy, setBusy] = useState(false);
  const changes = modelChanges(model, input, output, active);
  const save = async () => {
    setBusy(true);
    try {
      await api.patch(`/api/admin/models/${encodeURIComponent(model.id)}`, changes);
      toast("good", "Model saved", `${model.id}: every gateway reloads it within seconds.`);
      await queries.invalidateQueries({ queryKey: ["admin", "models"] });
    } catch (err) {
      routeError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <TableRow>
      <TableCell>
        <div className="font-medium">{model.id}</div>
        <div className="text-muted-foreground text-xs">
          {model.kind} · context {count(model.context_length)} · max tokens {count(model.max_max_tokens)}
        </div>
      </TableCell>
      <TableCell>
        <Input aria-label={`${model.id} input price per 1M tokens (USD)`} className="w-28" inputMode="decimal" value={input} onChange={(e) => setInput(e.target.value.trim())} />
      </TableCell>
      <TableCell>
        <Input aria-label={`${model.id} output price per 1M tokens (USD)`} className="w-28" inputMode="decimal" value={output} onChange={(e) => setOutput(e.target.value.trim())} />
      </TableCell>
      <TableCell>
        <Switch aria-label={`${model.id} served`} checked={active} onCheckedChange={setActive} />
      </TableCell>
      <TableCell>
        <Button size="sm" disabled={busy || Object.keys(changes).length === 0} onClick={save}>
          Save
        </Button>
      </TableCell>
    </TableRow>
  );
}

export default function ModelsSection() {
  const { api } = useAuth();
  const models = useQuery({ queryKey: ["admin", "models"], queryFn: () => api.get<{ data: AdminModel[] }>("/api/admin/models") });
  return (
    <Section title="Models and prices" description="Prices in USD per million tokens. A model that is not served answers 404 to everyone.">
      <QueryState isPending={models.isPending} error={models.error} />
      {models.data && (
        <Scroll>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Model</TableHead>
                <TableHead>Input $/1M</TableHead>
                <TableHead>Output $/1M</TableHead>
                <TableHead>Served</TableHead>
                <TableHead>
                  <span className="sr-only">Save</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {models.data.data.map((m) => (
                <ModelRow key={`${m.id}:${m.input_price_usd_per_m}:${m.output_price_usd_per_m}:${m.active}`} model={m} />
              ))}
            </TableBody>
          </Table>
        </Scroll>
      )}
    </Section>
  );
}
