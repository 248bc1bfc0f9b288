import { describe, expect, it } from "vitest";
import { count, inDuration, usd, utcDay } from "./format";

describe("format", () => {
  it("shows decimal USD strings without floats, trimming zeros but keeping cents", () => {
    expect(usd("0.150000")).toBe("$0.15");
    expect(usd("12.500000")).toBe("$12.50");
    expect(usd("0.000001")).toBe("$0.000001");
    expect(usd("-1.234567")).toBe("-$1.234567");
    expect(usd("1234567.000000")).toBe("$1,234,567.00");
    expect(usd("9007199254740993.000001")).toBe("$9,007,199,254,740,993.000001");
    expect(usd(null)).toBe("—");
  });

  it("formats counts and reset times", () => {
    expect(count(1234567)).toBe("1,234,567");
    expect([inDuration(400), inDuration(61_000), inDuration(7_200_000), inDuration(null)]).toEqual(["in 1 s", "in 2 min", "in 2 h", "—"]);
  });

  it("computes UTC days", () => {
    const now = new Date("2026-03-01T01:00:00Z");
    expect(utcDay(0, now)).toBe("2026-03-01");
    expect(utcDay(-1, now)).toBe("2026-02-28");
  });
});
