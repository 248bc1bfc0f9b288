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

  /**
   * Reads an OpenAI/llama.cpp usage object; null when absent or not usable. The counts are the backend's word, read
   * strictly: {@code prompt_tokens} must be there and, like {@code completion_tokens} (absent for embeddings: 0), a
   * non-negative JSON integer; anything else (a string, a fraction, {@code 1e3}, a negative or huge number, null)
   * makes the whole object unusable, and the caller bills its estimate instead.
   */
  public static TokenUsage from(JsonObject usage) {
    if (usage == null) {
      return null;
    }
    long prompt = count(usage.getValue("prompt_tokens"));
    long completion = usage.containsKey("completion_tokens") ? count(usage.getValue("completion_tokens")) : 0;
    if (prompt < 0 || completion < 0) {
      return null;
    }
    long cached = usage.getValue("prompt_tokens_details") instanceof JsonObject details
        && details.containsKey("cached_tokens") ? count(details.getValue("cached_tokens")) : 0;
    return new TokenUsage(prompt, completion, Math.min(Math.max(cached, 0), prompt), false);
  }

  /** A JSON integer in 0..Integer.MAX_VALUE (what the usage table stores), else -1. */
  private static long count(Object value) {
    if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
      long n = ((Number) value).longValue();
      return n >= 0 && n <= Integer.MAX_VALUE ? n : -1;
    }
    return -1;
  }

  /**
   * These counts, at most what the request could have used: the prompt bound its credit hold was sized for and the
   * output budget sent upstream. A backend that reports more is wrong (llama.cpp stops at n_predict), and billing
   * its word would charge past the hold; a capped usage is marked estimated.
   */
  public TokenUsage atMost(long maxPrompt, long maxCompletion) {
    if (promptTokens <= maxPrompt && completionTokens <= maxCompletion) {
      return this;
    }
    long prompt = Math.min(promptTokens, maxPrompt);
    return new TokenUsage(prompt, Math.min(completionTokens, maxCompletion), Math.min(cachedTokens, prompt), true);
  }
}
