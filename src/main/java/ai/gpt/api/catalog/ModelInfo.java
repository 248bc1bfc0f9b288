package ai.gpt.api.catalog;

/**
 * A model as sold: its API id, prices in integer micro-USD per 1M tokens, and token limits.
 */
public record ModelInfo(
    String id,
    String displayName,
    Kind kind,
    long inputPriceMicrosPerM,
    long outputPriceMicrosPerM,
    int defaultMaxTokens,
    int maxMaxTokens,
    int contextLength,
    long createdEpochSeconds,
    boolean active) {

  public enum Kind { CHAT, EMBEDDING }

  /** Applies the model's default when the client gave none and caps what it gave at the maximum. */
  public int effectiveMaxTokens(Integer requested) {
    return requested == null ? defaultMaxTokens : Math.min(requested, maxMaxTokens);
  }
}
