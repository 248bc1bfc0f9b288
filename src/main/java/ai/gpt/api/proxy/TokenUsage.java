package ai.gpt.api.proxy;

import io.vertx.core.json.JsonObject;

/** Token counts from llama.cpp's {@code usage} object, or counted by the gateway when none came. */
public record TokenUsage(long promptTokens, long completionTokens, long cachedTokens, boolean estimated) {

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
