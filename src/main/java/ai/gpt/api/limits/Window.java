package ai.gpt.api.limits;

/** The three refill windows of every limit; {@code code} is the window's part of a bucket key. */
public enum Window {
  MINUTE("m", "minute", 60_000L),
  HOUR("h", "hour", 3_600_000L),
  DAY("d", "day", 86_400_000L);

  private final String code;
  private final String word;
  private final long defaultMillis;

  Window(String code, String word, long defaultMillis) {
    this.code = code;
    this.word = word;
    this.defaultMillis = defaultMillis;
  }

  public String code() {
    return code;
  }

  public String word() {
    return word;
  }

  public long defaultMillis() {
    return defaultMillis;
  }
}
