import { useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Button } from "@/components/ui/button";
import { FormField } from "@/components/ui/form-field";
import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";
import { text, useSubmit } from "@/components/modals/useForm";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";
import { toast } from "@/lib/toasts";
import { QueryState, Section } from "@/pages/dashboard/shared";
import type { Incident } from "@/pages/status/status";
import { IncidentCard } from "@/pages/status/StatusCards";
import { Pager, usePagedList } from "./shared";

const SEVERITIES = ["critical", "high", "medium", "low"] as const;
const STATUSES = ["investigating", "identified", "monitoring"] as const;
const SERVICES = [
  ["chat_completions", "Chat completions"],
  ["embeddings", "Embeddings"],
  ["api", "Dashboard and account API"],
  ["billing", "Billing"],
] as const;

const SELECT = "border-input bg-background h-9 rounded-md border px-3 text-sm";

function Choice({ label, name, options, value }: { label: string; name: string; options: readonly string[]; value: string }) {
  const id = useId();
  return (
    <div className="grid gap-2">
      <Label htmlFor={id}>{label}</Label>
      <select id={id} name={name} defaultValue={value} className={SELECT}>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}

function MessageField({ error, label = "Message" }: { error?: string; label?: string }) {
  const id = useId();
  return (
    <div className="grid gap-2 sm:col-span-full">
      <Label htmlFor={id}>{label}</Label>
      <Textarea id={id} name="message" required maxLength={5000} rows={3} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-e` : undefined} />
      {error && (
        <p id={`${id}-e`} role="alert" className="text-destructive text-sm">
          {error}
        </p>
      )}
    </div>
  );
}

/** The body of POST /api/admin/incidents from the open form. */
export function openBody(data: FormData): Record<string, unknown> {
  return {
    title: text(data, "title").trim(),
    severity: text(data, "severity"),
    status: text(data, "status"),
    message: text(data, "message").trim(),
    services: data.getAll("services").filter((s): s is string => typeof s === "string"),
  };
}

function OpenIncident({ onDone }: { onDone: () => Promise<void> }) {
  const { api } = useAuth();
  const { busy, errors, onSubmit } = useSubmit(["title", "message", "services"], async (data) => {
    await api.post("/api/admin/incidents", openBody(data));
    toast("good", "Incident opened", "It is on the status page, and subscribers are being e-mailed.");
    (document.getElementById("open-incident") as HTMLFormElement | null)?.reset();
    await onDone();
  });
  return (
    <form id="open-incident" onSubmit={onSubmit} noValidate className="bg-card grid gap-3 rounded-xl border p-4 sm:grid-cols-3" aria-label="Open an incident">
      <FormField label="Title" name="title" required maxLength={200} error={errors.title} className="sm:col-span-full" />
      <Choice label="Severity" name="severity" options={SEVERITIES} value="medium" />
      <Choice label="Status" name="status" options={STATUSES} value="investigating" />
      <fieldset className="grid gap-1 text-sm">
        <legend className="mb-1 text-sm font-medium">Services affected</legend>
        {SERVICES.map(([id, title]) => (
          <label key={id} className="flex items-center gap-2">
            <input type="checkbox" name="services" value={id} /> {title}
          </label>
        ))}
      </fieldset>
      <MessageField error={errors.message} />
      <Button type="submit" disabled={busy} className="sm:col-span-full sm:justify-self-start">
        Open incident
      </Button>
    </form>
  );
}

function UpdateIncident({ incident, onDone }: { incident: Incident; onDone: () => Promise<void> }) {
  const { api } = useAuth();
  const { confirm } = useModals();
  const { busy, errors, onSubmit } = useSubmit(["message"], async (data) => {
    await api.post(`/api/admin/incidents/${incident.id}/updates`, { status: text(data, "status"), message: text(data, "message").trim() });
    toast("good", "Update posted", incident.title);
    await onDone();
  });
  const resolve = () =>
    confirm({
      title: `Resolve “${incident.title}”?`,
      description: "The incident is closed on the status page and subscribers get a resolved e-mail. A resolved incident cannot be reopened.",
      confirmLabel: "Resolve incident",
      onConfirm: async () => {
        await api.post(`/api/admin/incidents/${incident.id}/resolve`, {});
        toast("good", "Incident resolved", incident.title);
        await onDone();
      },
    });
  return (
    <form onSubmit={onSubmit} noValidate className="grid gap-3 sm:grid-cols-3" aria-label={`Update ${incident.title}`}>
      <Choice label="New status" name="status" options={STATUSES} value={incident.status === "resolved" ? "monitoring" : incident.status} />
      <MessageField error={errors.message} label="Update message" />
      <div className="flex flex-wrap gap-2 sm:col-span-full">
        <Button type="submit" size="sm" disabled={busy}>
          Post update
        </Button>
        <Button type="button" size="sm" variant="outline" onClick={resolve}>
          Resolve
        </Button>
      </div>
    </form>
  );
}

export default function IncidentsSection() {
  const queries = useQueryClient();
  const [state, setState] = useState<"open" | "resolved">("open");
  const { query, ...pager } = usePagedList<Incident>("/api/admin/incidents", { state });
  const refresh = async () => {
    await queries.invalidateQueries({ queryKey: ["admin"] });
    await queries.invalidateQueries({ queryKey: ["status"] });
  };
  const shown = query.data?.data ?? [];
  return (
    <Section title="Incidents" description="What the status page shows. Every change is e-mailed to the status subscribers.">
      <OpenIncident onDone={refresh} />
      <div role="group" aria-label="Which incidents" className="flex gap-2">
        {(["open", "resolved"] as const).map((s) => (
          <Button key={s} size="sm" variant={state === s ? "default" : "outline"} aria-pressed={state === s} onClick={() => setState(s)}>
            {s === "open" ? "Open" : "Resolved"}
          </Button>
        ))}
      </div>
      <QueryState isPending={query.isPending} error={query.error} />
      {query.data && shown.length === 0 && <p className="text-muted-foreground text-sm">No {state} incidents.</p>}
      {shown.map((i) => (
        <div key={i.id} className="grid gap-2">
          <IncidentCard incident={i} />
          {!i.resolved_at && <UpdateIncident incident={i} onDone={refresh} />}
        </div>
      ))}
      <Pager {...pager} />
    </Section>
  );
}
