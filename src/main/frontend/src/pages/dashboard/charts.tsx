import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { usd } from "@/lib/format";

export interface ChartPoint {
  label: string;
  value: number;
  display: string;
}

/** A bar chart of one measure (spend, requests, tokens) with an accessible summary for screen readers. */
export function BarsChart({ data, name, height = 220 }: { data: ChartPoint[]; name: string; height?: number }) {
  if (data.length === 0) return <p className="text-muted-foreground py-8 text-center text-sm">No usage in this range yet.</p>;
  return (
    <figure aria-label={name}>
      <div style={{ height }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid vertical={false} stroke="var(--border)" />
            <XAxis dataKey="label" tickLine={false} axisLine={false} fontSize={12} stroke="var(--muted-foreground)" />
            <YAxis tickLine={false} axisLine={false} fontSize={12} width={56} stroke="var(--muted-foreground)" />
            <Tooltip
              cursor={{ fill: "var(--accent)" }}
              contentStyle={{ background: "var(--popover)", border: "1px solid var(--border)", borderRadius: 8, color: "var(--popover-foreground)" }}
              formatter={(_v, _n, item) => [(item.payload as ChartPoint).display, name]}
            />
            <Bar dataKey="value" fill="var(--chart-1)" radius={[4, 4, 0, 0]} />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <figcaption className="sr-only">
        {data.map((d) => `${d.label}: ${d.display}`).join("; ")}
      </figcaption>
    </figure>
  );
}

/** Cost in micro-USD as chart values (exact integers); the label comes from the server's decimal string. */
export function spendPoints<T extends { cost_micros: number; cost_usd: string }>(rows: T[], label: (r: T) => string): ChartPoint[] {
  return rows.map((r) => ({ label: label(r), value: r.cost_micros / 1_000_000, display: usd(r.cost_usd) }));
}
