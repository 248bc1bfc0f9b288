import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { count, dateTime } from "@/lib/format";
import { LevelBadge } from "./LevelBadge";
import type { Incident, ServerStatus, ServiceStatus } from "./status";
import { UptimeBars } from "./UptimeBars";

export function ServiceCard({ service }: { service: ServiceStatus }) {
  return (
    <Card className="gap-3 py-4" data-testid="service-card">
      <CardHeader className="flex flex-wrap items-center justify-between gap-2 px-4">
        <CardTitle>
          <h3 className="text-base">{service.name}</h3>
        </CardTitle>
        <LevelBadge level={service.status} />
      </CardHeader>
      <CardContent className="grid gap-2 px-4">
        {service.payments_enabled === false && <p className="text-muted-foreground text-xs">Card payments are not enabled on this deployment.</p>}
        <UptimeBars uptime={service.uptime} label={service.name} />
      </CardContent>
    </Card>
  );
}

const STATE_TEXT: Record<ServerStatus["state"], string> = {
  healthy: "Healthy",
  loading: "Starting",
  quarantined: "Unavailable",
  draining: "Draining",
};

export function ServerCard({ server }: { server: ServerStatus }) {
  return (
    <Card className="gap-3 py-4" data-testid="server-card">
      <CardHeader className="flex flex-wrap items-center justify-between gap-2 px-4">
        <CardTitle>
          <h3 className="text-base">{server.name}</h3>
        </CardTitle>
        <LevelBadge level={server.status} />
      </CardHeader>
      <CardContent className="grid gap-3 px-4">
        <dl className="grid grid-cols-3 gap-2 text-sm">
          <div>
            <dt className="text-muted-foreground text-xs">State</dt>
            <dd>{STATE_TEXT[server.state]}</dd>
          </div>
          <div>
            <dt className="text-muted-foreground text-xs">Slots in use</dt>
            <dd className="tabular-nums">
              {count(server.slots_busy)} / {count(server.slots_total)}
            </dd>
          </div>
          <div>
            <dt className="text-muted-foreground text-xs">Latency</dt>
            <dd className="tabular-nums">{server.latency_ms == null ? "—" : `${count(server.latency_ms)} ms`}</dd>
          </div>
        </dl>
        <UptimeBars uptime={server.uptime} label={server.name} />
      </CardContent>
    </Card>
  );
}

const SEVERITY_VARIANT = { critical: "destructive", high: "destructive", medium: "warn", low: "secondary" } as const;

export function IncidentCard({ incident }: { incident: Incident }) {
  const updates = [...incident.updates].reverse(); // newest first, as people read a status page
  return (
    <Card className="gap-3 py-4" data-testid="incident-card">
      <CardHeader className="grid gap-1 px-4">
        <div className="flex flex-wrap items-center gap-2">
          <CardTitle>
            <h3 className="text-base">{incident.title}</h3>
          </CardTitle>
          <Badge variant={SEVERITY_VARIANT[incident.severity]}>{incident.severity}</Badge>
          <Badge variant={incident.resolved_at ? "good" : "outline"}>{incident.status}</Badge>
        </div>
        <p className="text-muted-foreground text-xs">
          Started {dateTime(incident.started_at)}
          {incident.resolved_at && <> · resolved {dateTime(incident.resolved_at)}</>}
          {incident.services.length > 0 && <> · {incident.services.join(", ")}</>}
          {incident.models.length > 0 && <> · {incident.models.join(", ")}</>}
        </p>
      </CardHeader>
      <CardContent className="px-4">
        <ol className="grid gap-2 border-l pl-3">
          {updates.map((u) => (
            <li key={u.id} className="text-sm">
              <p>
                <span className="font-medium capitalize">{u.status}</span> <span className="text-muted-foreground text-xs">{dateTime(u.at)}</span>
              </p>
              <p className="break-words whitespace-pre-line">{u.message}</p>
            </li>
          ))}
        </ol>
      </CardContent>
    </Card>
  );
}
