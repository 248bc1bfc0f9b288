package ai.gpt.api.limits;

import java.math.BigDecimal;

/**
 * Money is integer micro-USD ({@code long}); prices are micro-USD per 1M tokens. Never a float.
 */
public final class Money {
  public static final long MICROS_PER_USD = 1_000_000L;
  public static final long TOKENS_PER_PRICE_UNIT = 1_000_000L;

  private Money() {}

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
