package ai.gpt.api.billing;

import java.math.BigDecimal;

/**
 * Money is integer micro-USD (1 USD = 1,000,000 micros), never a float; prices are micro-USD per 1M tokens.
 * Exact conversions to and from text, and token costs.
 */
public final class Money {
  public static final long MICROS_PER_USD = 1_000_000L;
  /** Prices are per 1M tokens. */
  public static final long TOKENS_PER_PRICE_UNIT = 1_000_000L;

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

  /**
   * The cost of {@code tokens} at {@code pricePerM} micro-USD per 1M tokens: ceil(tokens * price / 1,000,000).
   *
   * @throws IllegalArgumentException for negative inputs
   * @throws ArithmeticException      if tokens * price overflows a long
   */
  public static long cost(long tokens, long pricePerM) {
    if (tokens < 0 || pricePerM < 0) {
      throw new IllegalArgumentException("tokens and price must be >= 0, got " + tokens + " and " + pricePerM);
    }
    long product = Math.multiplyExact(tokens, pricePerM);
    return product / TOKENS_PER_PRICE_UNIT + (product % TOKENS_PER_PRICE_UNIT == 0 ? 0 : 1);
  }

  /** Input and output priced separately, each rounded up: cost(prompt, in) + cost(completion, out). */
  public static long requestCost(long promptTokens, long completionTokens, long inputPricePerM, long outputPricePerM) {
    return Math.addExact(cost(promptTokens, inputPricePerM), cost(completionTokens, outputPricePerM));
  }

  /** Exact USD value (scale 6), e.g. for the {@code cost} field of the usage object. */
  public static BigDecimal toUsd(long micros) {
    return BigDecimal.valueOf(micros, 6);
  }
}
