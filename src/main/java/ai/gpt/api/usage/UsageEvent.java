package ai.gpt.api.usage;

/**
 * What one request consumed, handed to the {@link UsageSink} when its response ends.
 *
 * @param estimated true when the backend sent no usage (stream cut short) and tokens were counted by the gateway
 * @param status    HTTP status the client saw (499 when the client went away first)
 */
public record UsageEvent(
    String requestId,
    long orgId,
    long keyId,
    String model,
    long backendId,
    String endpoint,
    long promptTokens,
    long completionTokens,
    long cachedTokens,
    int status,
    boolean estimated,
    long latencyMs,
    long timeToFirstTokenMs) {}
