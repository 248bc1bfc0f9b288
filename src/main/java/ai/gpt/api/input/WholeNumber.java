package ai.gpt.api.input;

/**
 * THE parser of whole numbers typed by users (path ids, query parameters, CLI arguments): ASCII digits only (Java's
 * own parsers also accept other scripts' digits, such as "١", and a leading '+'), no leading zeros ("03" is not
 * how anyone writes 3: an id or a limit written so was not made here), an optional '-' only where negative values
 * are allowed, the length checked before anything else, no overflow.
 */
public final class WholeNumber {
  /** Long.MAX_VALUE has 19 digits. */
  public static final int MAX_DIGITS = 19;

  private WholeNumber() {}

  /**
   * The number written in {@code text}, from {@code min} to {@code max}.
   *
   * @throws IllegalArgumentException with the reason, fit to end a sentence starting with the parameter's name
   */
  public static long parse(String text, long min, long max) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("is empty");
    }
    if (text.length() > MAX_DIGITS + 1) {
      throw new IllegalArgumentException("is too long (at most " + MAX_DIGITS + " digits)");
    }
    boolean negative = text.charAt(0) == '-' && min < 0;
    int start = negative ? 1 : 0;
    if (start == text.length()) {
      throw new IllegalArgumentException("has no digits");
    }
    long value = 0;
    for (int i = start; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        throw new IllegalArgumentException("must be a whole number written with the digits 0-9 only");
      }
      try {
        value = Math.addExact(Math.multiplyExact(value, 10), c - '0');
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException("is too large");
      }
    }
    if (text.charAt(start) == '0' && text.length() - start > 1) {
      throw new IllegalArgumentException("must be written without leading zeros");
    }
    value = negative ? -value : value;
    if (value < min || value > max) {
      throw new IllegalArgumentException("must be from " + min + " to " + max);
    }
    return value;
  }

  /**
   * A whole number given as a JSON number: an integer literal that fits a long ({@code 1.5}, {@code 1e3},
   * {@code "12"}, booleans and numbers beyond a long are refused), from {@code min} to {@code max}.
   */
  public static long ofJson(Object value, long min, long max) {
    if (!(value instanceof Integer || value instanceof Long)) {
      throw new IllegalArgumentException("must be a whole number (a JSON integer such as 60)");
    }
    long v = ((Number) value).longValue();
    if (v < min || v > max) {
      throw new IllegalArgumentException("must be from " + min + " to " + max);
    }
    return v;
  }
}
