import type { StatusDocument, Uptime } from "./status";

/** 90 days: nothing observed at first, then up, one partial outage the day before today. */
export function uptime(): Uptime {
  const daily = Array.from({ length: 90 }, (_, i) => {
    const date = new Date(Date.UTC(2026, 8, 3 + i)).toISOString().slice(0, 10);
    if (i < 60) return { date, uptime_percent: null, observed_minutes: 0, worst_status: null };
    if (i === 88) return { date, uptime_percent: "97.500", observed_minutes: 1440, worst_status: "partial_outage" as const };
    return { date, uptime_percent: "100.000", observed_minutes: 1440, worst_status: "operational" as const };
  });
  return { last_24h_percent: "99.930", last_30d_percent: "99.942", last_90d_percent: "99.942", daily };
}

export const STATUS: StatusDocument = {
  status: "degraded_performance",
  description: "Degraded performance",
  updated_at: "2026-12-01T12:00:00Z",
  services: [
    { id: "chat_completions", name: "Chat completions", status: "degraded_performance", uptime: uptime() },
    { id: "billing", name: "Billing", status: "operational", payments_enabled: false, uptime: uptime() },
  ],
  servers: [
    { id: 3, name: "gpt-fast #3", model: "gpt-fast", state: "healthy", status: "operational", slots_busy: 2, slots_total: 4, latency_ms: 412, uptime: uptime() },
  ],
  incidents: {
    open: [
      {
        id: 5,
        title: "Slow answers from gpt-fast",
        severity: "medium",
        status: "identified",
        services: ["chat_completions"],
        models: ["gpt-fast"],
        automatic: false,
        started_at: "2026-12-01T11:00:00Z",
        resolved_at: null,
        updates: [
          { id: 1, status: "investigating", message: "We are looking into it.", at: "2026-12-01T11:00:00Z" },
          { id: 2, status: "identified", message: "A server is overloaded.", at: "2026-12-01T11:30:00Z" },
        ],
      },
    ],
    recent: [],
  },
};
