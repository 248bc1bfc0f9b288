package ai.gpt.api.proxy;

import io.vertx.core.json.JsonObject;

/** Token counts from llama.cpp's {@code usage} object, or counted by the gateway when none came. */
public record TokenUsage(long promptTokens, long completionTokens, long cachedTokens, boolean estimated) {
  /** Nothing processed: the request never reached a backend, or the backend refused it. */
  public static final TokenUsage NONE = new TokenUsage(0, 0, 0, false);

  /** The prompt (estimated) and nothing generated: the backend ran the request but nothing came back. */
  public static TokenUsage promptOnly(long promptEstimate) {
    return new TokenUsage(promptEstimate, 0, 0, true);
  }

  /** Reads an OpenAI/llama.cpp usage object; null when absent. */
  public static TokenUsage from(JsonObject usage) {
    if (usage == null) {
      return null;
    }
    JsonObject details = usage.getJsonObject("prompt_tokens_details");
    long cached = details == null ? 0 : details.getLong("cached_tokens", 0L);
    return new TokenUsage(usage.getLong("prompt_tokens", 0L), usage.getLong("completion_tokens", 0L), cached, false);
  }
}
