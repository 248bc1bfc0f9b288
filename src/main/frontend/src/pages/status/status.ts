/** The public GET /api/status document (StatusPage.java) and how its levels read. */

export type Level = "operational" | "degraded_performance" | "partial_outage" | "major_outage";

export interface UptimeDay {
  date: string;
  uptime_percent: string | number | null;
  observed_minutes: number;
  worst_status: Level | null;
}

export interface Uptime {
  last_24h_percent: string | number | null;
  last_30d_percent: string | number | null;
  last_90d_percent: string | number | null;
  daily: UptimeDay[];
}

export interface ServiceStatus {
  id: string;
  name: string;
  status: Level;
  payments_enabled?: boolean;
  uptime: Uptime;
}

export interface ServerStatus {
  id: number;
  name: string;
  model: string;
  state: "healthy" | "loading" | "quarantined" | "draining";
  status: Level;
  slots_busy: number;
  slots_total: number;
  latency_ms: number | null;
  uptime: Uptime;
}

export interface IncidentUpdate {
  id: number;
  status: string;
  message: string;
  at: string;
}

export interface Incident {
  id: number;
  title: string;
  severity: "critical" | "high" | "medium" | "low";
  status: "investigating" | "identified" | "monitoring" | "resolved";
  services: string[];
  models: string[];
  automatic: boolean;
  started_at: string;
  resolved_at: string | null;
  updates: IncidentUpdate[];
}

export interface StatusDocument {
  status: Level;
  description: string;
  updated_at: string;
  services: ServiceStatus[];
  servers: ServerStatus[];
  incidents: { open: Incident[]; recent: Incident[] };
}

export const LEVEL_TEXT: Record<Level, string> = {
  operational: "Operational",
  degraded_performance: "Degraded performance",
  partial_outage: "Partial outage",
  major_outage: "Major outage",
};

/** Tailwind background per level, for dots and uptime bars (the text always says the level too). */
export const LEVEL_BG: Record<Level, string> = {
  operational: "bg-good",
  degraded_performance: "bg-warn",
  partial_outage: "bg-orange-500",
  major_outage: "bg-destructive",
};

/** "99.95" → "99.95%"; null (nothing observed) → "—". The server sends exact decimals, shown as given. */
export function percent(value: string | number | null | undefined): string {
  if (value == null) return "—";
  const s = String(value);
  const [whole, frac = ""] = s.split(".");
  const trimmed = frac.replace(/0+$/, "");
  return `${whole}${trimmed ? "." + trimmed : ""}%`;
}
