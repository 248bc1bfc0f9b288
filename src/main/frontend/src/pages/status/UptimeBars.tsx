import { cn } from "@/lib/utils";
import { LEVEL_BG, LEVEL_TEXT, percent, type Uptime } from "./status";

/**
 * 90 bars, one per UTC day (oldest first), coloured by the day's worst level; grey where nothing was observed.
 * Each bar carries its day and figure as a title, and the whole strip is one image with a summary for screen
 * readers, so 90 tiny elements are not read out one by one.
 */
export function UptimeBars({ uptime, label }: { uptime: Uptime; label: string }) {
  const observed = uptime.daily.filter((d) => d.observed_minutes > 0).length;
  return (
    <div className="grid gap-1.5">
      <div
        role="img"
        aria-label={`${label}: uptime ${percent(uptime.last_90d_percent)} over 90 days (${observed} days observed)`}
        className="flex h-8 items-stretch gap-px"
      >
        {uptime.daily.map((d) => (
          <span
            key={d.date}
            data-testid="uptime-bar"
            title={`${d.date}: ${d.worst_status ? `${LEVEL_TEXT[d.worst_status]}, ${percent(d.uptime_percent)} up` : "no data"}`}
            className={cn("min-w-0 flex-1 rounded-[1px]", d.worst_status ? LEVEL_BG[d.worst_status] : "bg-muted-foreground/25")}
          />
        ))}
      </div>
      <dl className="text-muted-foreground flex flex-wrap justify-between gap-x-4 text-xs">
        <div className="flex gap-1">
          <dt>24 h</dt>
          <dd className="text-foreground tabular-nums">{percent(uptime.last_24h_percent)}</dd>
        </div>
        <div className="flex gap-1">
          <dt>30 days</dt>
          <dd className="text-foreground tabular-nums">{percent(uptime.last_30d_percent)}</dd>
        </div>
        <div className="flex gap-1">
          <dt>90 days</dt>
          <dd className="text-foreground tabular-nums">{percent(uptime.last_90d_percent)}</dd>
        </div>
      </dl>
    </div>
  );
}
