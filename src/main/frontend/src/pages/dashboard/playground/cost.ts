/**
 * The cost of an answer exactly as the gateway bills it (Money.requestCost): per direction
 * ceil(tokens × price per 1M tokens in micro-USD / 1,000,000), in integer micro-USD. BigInt, never a float, so
 * the page shows to the micro-dollar what the ledger will hold.
 */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
}

export interface Prices {
  input_per_1m_tokens_micros: number;
  output_per_1m_tokens_micros: number;
}

const PER = 1_000_000n;

function ceilCost(tokens: number, pricePerM: number): bigint {
  if (!Number.isSafeInteger(tokens) || tokens < 0 || !Number.isSafeInteger(pricePerM) || pricePerM < 0) {
    throw new RangeError(`tokens and prices must be whole numbers >= 0 (got ${tokens}, ${pricePerM})`);
  }
  const product = BigInt(tokens) * BigInt(pricePerM);
  return (product + PER - 1n) / PER;
}

export function costMicros(usage: Usage, prices: Prices): bigint {
  return ceilCost(usage.prompt_tokens, prices.input_per_1m_tokens_micros) + ceilCost(usage.completion_tokens, prices.output_per_1m_tokens_micros);
}

/** 1234n → "0.001234", as the /api writes *_usd amounts (6 decimals), for format.usd. */
export function microsToDecimal(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  return `${negative ? "-" : ""}${abs / PER}.${(abs % PER).toString().padStart(6, "0")}`;
}

/** "0.000006" → 6n: a decimal USD amount (the gateway's usage.cost) in micro-USD, read as digits, never a float. */
export function decimalToMicros(decimal: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(decimal);
  if (!match) throw new RangeError(`not a USD amount with at most 6 decimals: ${decimal}`);
  return BigInt(match[1]) * PER + BigInt((match[2] ?? "").padEnd(6, "0"));
}

/**
 * The exact charge the gateway reports in a usage object (`"cost": 0.000006`), taken from the JSON text itself: JSON
 * numbers become floats in JavaScript, money must not. Null when absent.
 */
export function reportedCostMicros(json: string): bigint | null {
  const match = /"cost"\s*:\s*(\d+(?:\.\d{1,6})?)\s*[,}]/.exec(json);
  return match ? decimalToMicros(match[1]) : null;
}
