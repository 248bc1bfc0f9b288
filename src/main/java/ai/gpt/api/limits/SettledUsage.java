package ai.gpt.api.limits;

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
}
