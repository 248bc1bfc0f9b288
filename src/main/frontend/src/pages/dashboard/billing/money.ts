import { usd } from "@/lib/format";

/** A USD amount as the API takes it ("25", "25.50"): digits, and at most `decimals` after the point, above zero. */
export function usdInput(text: string, decimals: 2 | 6 = 6): string | null {
  const v = text.trim().replace(/^\$/, "");
  const pattern = decimals === 2 ? /^\d{1,9}(\.\d{1,2})?$/ : /^\d{1,9}(\.\d{1,6})?$/;
  if (!pattern.test(v) || /^0*(\.0*)?$/.test(v)) return null;
  return v;
}

/** Whether a server decimal string is below zero, read from its sign (never through a float). */
export function isNegative(decimal: string): boolean {
  return decimal.startsWith("-");
}

/** A server decimal ("20.000000") as a form's starting value ("20.00"): usd() without the sign and grouping. */
export function editableUsd(decimal: string | null): string {
  return decimal ? usd(decimal).replace(/[$,]/g, "") : "";
}
