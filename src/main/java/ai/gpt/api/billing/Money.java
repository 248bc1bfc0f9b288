package ai.gpt.api.billing;

import java.math.BigDecimal;

/** Money is integer micro-USD (1 USD = 1,000,000 micros); these convert it to and from text exactly. */
public final class Money {
  public static final long MICROS_PER_USD = 1_000_000L;

  private Money() {}

  /**
   * Parses a USD amount such as {@code 10}, {@code 0.25}, {@code $1,000.000001} or {@code -3.5} into micros.
   *
   * @throws IllegalArgumentException for text that is not a number, has more than 6 decimals, or overflows
   */
  public static long parseUsd(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("amount is empty");
    }
    String s = text.trim().replace(",", "").replace("_", "");
    boolean negative = s.startsWith("-");
    if (negative || s.startsWith("+")) {
      s = s.substring(1);
    }
    if (s.startsWith("$")) {
      s = s.substring(1);
    }
    BigDecimal usd;
    try {
      usd = new BigDecimal(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a USD amount: " + text);
    }
    if (usd.signum() < 0) {
      throw new IllegalArgumentException("not a USD amount: " + text);
    }
    BigDecimal micros = usd.movePointRight(6);
    if (micros.stripTrailingZeros().scale() > 0) {
      throw new IllegalArgumentException("amounts are exact to the micro-dollar (at most 6 decimals): " + text);
    }
    try {
      long m = micros.longValueExact();
      return negative ? -m : m;
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("amount too large: " + text);
    }
  }

  /** {@code 10000000 → "$10.00"}, {@code 250 → "$0.00025"}, {@code -1234567 → "-$1.234567"}. */
  public static String formatUsd(long micros) {
    BigDecimal usd = BigDecimal.valueOf(micros).movePointLeft(6).stripTrailingZeros();
    if (usd.scale() < 2) {
      usd = usd.setScale(2);
    }
    String digits = usd.abs().toPlainString();
    return (micros < 0 ? "-$" : "$") + digits;
  }
}
