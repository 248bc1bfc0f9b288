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

  /**
   * The most an organization's balance may hold: $1,000,000,000 (10^15 micros). Below 2^53, so the hot balance, which
   * Redis's Lua scripts handle as doubles, stays exact, and far below a long, so no sum of it overflows. Credits
   * that would take a balance above it are refused (an admin's credit, a plan's included credit).
   */
  public static final long MAX_BALANCE_MICROS = 1_000_000_000_000_000L;

  /**
   * The highest price of a model: $1,000 per 1M tokens (10^9 micros). Any token count a request can reach (an int,
   * or a body's bytes) times it stays far below a long, so a request's cost and hold never overflow.
   */
  public static final long MAX_PRICE_MICROS_PER_M = 1_000_000_000L;

  private Money() {}

  /** "-" + 13 integer digits + "." + 6 decimals: more than a long of micro-USD can hold, so enough. */
  public static final int MAX_USD_TEXT = 21;

  /**
   * THE parser of USD amounts typed by users (API, admin API, CLI): plain decimal such as {@code 10},
   * {@code 0.25} or {@code -3.5} (the sign only when {@code signed}), ASCII digits, at most 6 decimals; no
   * exponent, '+', '$', ',', '_' or whitespace. The length is checked before anything is parsed, so no input can
   * make parsing slow, and the result is exact integer micro-USD.
   *
   * @throws IllegalArgumentException with the reason, for text that is not such an amount or overflows a long
   */
  public static long parseUsd(String text, boolean signed) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("the amount is empty");
    }
    if (text.length() > MAX_USD_TEXT) {
      throw new IllegalArgumentException("the amount is longer than " + MAX_USD_TEXT + " characters");
    }
    boolean negative = signed && text.charAt(0) == '-';
    int i = negative ? 1 : 0;
    long whole = 0;
    int digits = 0;
    long fraction = 0;
    int decimals = -1; // -1: no decimal point yet
    for (; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '.' && decimals < 0 && digits > 0) {
        decimals = 0;
      } else if (c >= '0' && c <= '9') {
        if (decimals < 0) {
          if (digits == 1 && whole == 0) {
            throw new IllegalArgumentException("write a plain decimal such as 10 or 0.25 (no leading zeros)");
          }
          whole = whole * 10 + (c - '0'); // at most 20 digits fit the length bound; overflow is checked below
          digits++;
          if (digits > 13) {
            throw new IllegalArgumentException("the amount is too large");
          }
        } else if (++decimals > 6) {
          throw new IllegalArgumentException("amounts are exact to the micro-dollar (at most 6 decimals)");
        } else {
          fraction = fraction * 10 + (c - '0');
        }
      } else {
        throw new IllegalArgumentException("write a plain decimal such as 10 or 0.25 ("
            + (signed ? "an optional '-', " : "") + "digits 0-9 and one '.')");
      }
    }
    if (digits == 0 || decimals == 0) {
      throw new IllegalArgumentException("write a plain decimal such as 10 or 0.25");
    }
    for (int d = Math.max(decimals, 0); d < 6; d++) {
      fraction *= 10;
    }
    long micros;
    try {
      micros = Math.addExact(Math.multiplyExact(whole, MICROS_PER_USD), fraction);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("the amount is too large");
    }
    return negative ? -micros : micros;
  }

  /**
   * JSON's one format for money: fixed 6 decimals, no currency sign, e.g. {@code 12500000 → "12.500000"},
   * {@code -16000 → "-0.016000"}; always sent next to the integer {@code *_micros} field.
   */
  public static String decimalUsd(long micros) {
    return toUsd(micros).toPlainString();
  }

  /** For people (CLI output, error messages): {@code 10000000 → "$10.00"}, {@code -1234567 → "-$1.234567"}. */
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
