/** "0.150000" → "$0.15", "-1.234567" → "-$1.234567": from the server's decimal string, never through a float. */
export function usd(decimal: string | null | undefined): string {
  if (decimal == null || decimal === "") return "—";
  const negative = decimal.startsWith("-");
  const [whole, frac = ""] = decimal.replace(/^-/, "").split(".");
  const trimmed = frac.replace(/0+$/, "").padEnd(2, "0");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}$${grouped}.${trimmed}`;
}

const NUMBER = new Intl.NumberFormat("en-US");
const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export function count(n: number | null | undefined): string {
  return n == null ? "—" : NUMBER.format(n);
}

export function compact(n: number | null | undefined): string {
  return n == null ? "—" : COMPACT.format(n);
}

/** A server time (ISO-8601) in the reader's locale and zone. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** "in 42 s", "in 3 min", "in 2 h" for a reset time. */
export function inDuration(ms: number | null | undefined): string {
  if (ms == null) return "—";
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `in ${s} s`;
  const m = Math.ceil(s / 60);
  if (m < 60) return `in ${m} min`;
  const h = Math.ceil(m / 60);
  return h < 48 ? `in ${h} h` : `in ${Math.ceil(h / 24)} days`;
}

/** Today as YYYY-MM-DD in UTC, the zone the usage reports use. */
export function utcDay(offsetDays = 0, now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + offsetDays));
  return d.toISOString().slice(0, 10);
}
