import { describe, expect, it } from "vitest";
import { costMicros, decimalToMicros, microsToDecimal, reportedCostMicros } from "./cost";

// gpt-fast: $0.25 in, $0.50 out per 1M tokens.
const GPT_FAST = { input_per_1m_tokens_micros: 250_000, output_per_1m_tokens_micros: 500_000 };

describe("answer cost", () => {
  it("rounds each direction up to a whole micro-dollar, as the gateway bills (Money.requestCost)", () => {
    // 12 × 0.25 = 3 µ$ exactly; 5 × 0.5 = 2.5 → 3 µ$.
    expect(costMicros({ prompt_tokens: 12, completion_tokens: 5 }, GPT_FAST)).toBe(6n);
    expect(costMicros({ prompt_tokens: 1, completion_tokens: 1 }, GPT_FAST)).toBe(2n);
    expect(costMicros({ prompt_tokens: 0, completion_tokens: 0 }, GPT_FAST)).toBe(0n);
    expect(costMicros({ prompt_tokens: 4_000_000, completion_tokens: 2_000_000 }, GPT_FAST)).toBe(2_000_000n);
  });

  it("stays exact where floats would not", () => {
    // tokens × price = 9,007,208,261,940,245,740,991, far past 2^53, where a float is off by thousands.
    const big = costMicros({ prompt_tokens: Number.MAX_SAFE_INTEGER, completion_tokens: 0 }, { input_per_1m_tokens_micros: 1_000_001, output_per_1m_tokens_micros: 0 });
    expect(big).toBe(9_007_208_261_940_246n);
    expect(() => costMicros({ prompt_tokens: 1.5, completion_tokens: 0 }, GPT_FAST)).toThrow(RangeError);
    expect(() => costMicros({ prompt_tokens: -1, completion_tokens: 0 }, GPT_FAST)).toThrow(RangeError);
  });

  it("converts between micro-USD and the API's 6-decimal strings without floats", () => {
    expect(microsToDecimal(6n)).toBe("0.000006");
    expect(microsToDecimal(12_500_000n)).toBe("12.500000");
    expect(microsToDecimal(-16_000n)).toBe("-0.016000");
    expect(decimalToMicros("0.000006")).toBe(6n);
    expect(decimalToMicros("3")).toBe(3_000_000n);
    expect(decimalToMicros("0.1")).toBe(100_000n);
    expect(() => decimalToMicros("6E-6")).toThrow(RangeError);
    expect(() => decimalToMicros("0.0000001")).toThrow(RangeError);
  });

  it("reads the cost the gateway reports from the usage JSON text", () => {
    expect(reportedCostMicros('"usage":{"prompt_tokens":12,"completion_tokens":5,"cost":0.000006}}')).toBe(6n);
    expect(reportedCostMicros('"usage":{"cost":0.123456,"prompt_tokens":1}')).toBe(123_456n);
    expect(reportedCostMicros('"usage":{"prompt_tokens":12}')).toBeNull();
  });
});
