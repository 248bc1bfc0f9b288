package ai.gpt.api.limits;

import java.util.Map;
import java.util.Objects;

/**
 * What one request really consumed and costs; settlement charges it and appends it to the organization's outbox.
 *
 * @param backendId  0 when no backend was reached
 * @param ttftMs     -1 when no token was relayed
 * @param costMicros exact charge, normally {@link Money#requestCost} of the prompt and completion tokens
 * @param status     HTTP status the client saw (499 when the client went away first)
 * @param estimated  true when tokens were counted by the gateway because the backend sent no usage
 */
public record SettledUsage(String requestId, long orgId, long keyId, String model, long backendId, String endpoint,
    long promptTokens, long completionTokens, long cachedTokens, long costMicros, int status, boolean estimated,
    long latencyMs, long ttftMs) {

  public SettledUsage {
    Objects.requireNonNull(requestId, "requestId");
    model = model == null ? "" : model;
    endpoint = endpoint == null ? "" : endpoint;
    if (promptTokens < 0 || completionTokens < 0 || cachedTokens < 0 || costMicros < 0) {
      throw new IllegalArgumentException("token counts and cost must be >= 0");
    }
  }

  /** A request that was never served (nothing charged), e.g. to release an admission whose answer was lost. */
  public static SettledUsage unserved(AdmissionRequest r, String model, String endpoint, int status) {
    return new SettledUsage(r.requestId(), r.orgId(), r.keyId(), model, 0, endpoint, 0, 0, 0, 0, status, false, 0,
        -1);
  }

  /** Parses the fields of a usage stream entry (settle_v7.lua writes them; {@code ts_ms} is not part of this). */
  public static SettledUsage fromStreamFields(Map<String, String> f) {
    return new SettledUsage(f.get("request_id"), Long.parseLong(f.get("org_id")), Long.parseLong(f.get("key_id")),
        f.get("model"), orDefault(f.get("backend_id"), 0), f.get("endpoint"),
        Long.parseLong(f.get("prompt_tokens")), Long.parseLong(f.get("completion_tokens")),
        Long.parseLong(f.get("cached_tokens")), Long.parseLong(f.get("cost_micros")),
        Integer.parseInt(f.get("status")), "1".equals(f.get("estimated")), Long.parseLong(f.get("latency_ms")),
        orDefault(f.get("ttft_ms"), -1));
  }

  private static long orDefault(String value, long fallback) {
    return value == null || value.isEmpty() ? fallback : Long.parseLong(value);
  }
}
