package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageStreams.BACKEND_ID;
import static ai.gpt.api.usage.UsageStreams.CACHED_TOKENS;
import static ai.gpt.api.usage.UsageStreams.COMPLETION_TOKENS;
import static ai.gpt.api.usage.UsageStreams.COST_MICROS;
import static ai.gpt.api.usage.UsageStreams.ENDPOINT;
import static ai.gpt.api.usage.UsageStreams.ESTIMATED;
import static ai.gpt.api.usage.UsageStreams.KEY_ID;
import static ai.gpt.api.usage.UsageStreams.LATENCY_MS;
import static ai.gpt.api.usage.UsageStreams.MODEL;
import static ai.gpt.api.usage.UsageStreams.ORG_ID;
import static ai.gpt.api.usage.UsageStreams.PROMPT_TOKENS;
import static ai.gpt.api.usage.UsageStreams.REQUEST_ID;
import static ai.gpt.api.usage.UsageStreams.STATUS;
import static ai.gpt.api.usage.UsageStreams.TS_MS;
import static ai.gpt.api.usage.UsageStreams.TTFT_MS;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One settled request as carried by a usage stream entry and stored as a {@code usage} row plus, unless it cost
 * nothing, a ledger debit of {@code -costMicros}. Nullable fields are the ones the gateway may not know (no key, no backend reached,
 * no first token).
 */
public record UsageRecord(
    String requestId,
    long orgId,
    Long keyId,
    String model,
    Long backendId,
    String endpoint,
    int promptTokens,
    int completionTokens,
    int cachedTokens,
    long costMicros,
    int status,
    boolean estimated,
    Integer latencyMs,
    Integer ttftMs,
    long tsMs) {

  /**
   * Parses a stream entry's fields. Required: request_id, org_id, model, cost_micros, status. Token counts
   * default to 0, the optional ids and timings to null, ts_ms to {@code fallbackTsMs} (the entry id's time).
   *
   * @throws IllegalArgumentException naming the offending field when the entry cannot be stored
   */
  public static UsageRecord parse(Map<String, String> f, long fallbackTsMs) {
    String requestId = required(f, REQUEST_ID);
    long costMicros = longField(f, COST_MICROS, null);
    if (costMicros < 0) {
      throw new IllegalArgumentException(COST_MICROS + " is negative: " + costMicros);
    }
    return new UsageRecord(
        requestId,
        longField(f, ORG_ID, null),
        optionalLong(f, KEY_ID),
        required(f, MODEL),
        optionalLong(f, BACKEND_ID),
        f.getOrDefault(ENDPOINT, ""),
        count(f, PROMPT_TOKENS),
        count(f, COMPLETION_TOKENS),
        count(f, CACHED_TOKENS),
        costMicros,
        intField(f, STATUS, null),
        flag(f, ESTIMATED),
        optionalInt(f, LATENCY_MS),
        optionalInt(f, TTFT_MS),
        longField(f, TS_MS, fallbackTsMs));
  }

  /** The stream entry fields for this record, in contract order (what the settlement script XADDs). */
  public Map<String, String> toFields() {
    Map<String, String> f = new LinkedHashMap<>();
    f.put(REQUEST_ID, requestId);
    f.put(ORG_ID, Long.toString(orgId));
    f.put(KEY_ID, keyId == null ? "" : keyId.toString());
    f.put(MODEL, model);
    f.put(BACKEND_ID, backendId == null ? "" : backendId.toString());
    f.put(ENDPOINT, endpoint);
    f.put(PROMPT_TOKENS, Integer.toString(promptTokens));
    f.put(COMPLETION_TOKENS, Integer.toString(completionTokens));
    f.put(CACHED_TOKENS, Integer.toString(cachedTokens));
    f.put(COST_MICROS, Long.toString(costMicros));
    f.put(STATUS, Integer.toString(status));
    f.put(ESTIMATED, estimated ? "1" : "0");
    f.put(LATENCY_MS, latencyMs == null ? "" : latencyMs.toString());
    f.put(TTFT_MS, ttftMs == null ? "" : ttftMs.toString());
    f.put(TS_MS, Long.toString(tsMs));
    return f;
  }

  private static String required(Map<String, String> f, String name) {
    String v = f.get(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException(name + " is missing");
    }
    return v;
  }

  private static long longField(Map<String, String> f, String name, Long fallback) {
    String v = f.get(name);
    if ((v == null || v.isEmpty()) && fallback != null) {
      return fallback;
    }
    try {
      return Long.parseLong(required(f, name));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " is not an integer: " + v);
    }
  }

  private static int intField(Map<String, String> f, String name, Integer fallback) {
    String v = f.get(name);
    if ((v == null || v.isEmpty()) && fallback != null) {
      return fallback;
    }
    try {
      return Integer.parseInt(required(f, name));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " is not a 32-bit integer: " + v);
    }
  }

  private static int count(Map<String, String> f, String name) {
    int v = intField(f, name, 0);
    if (v < 0) {
      throw new IllegalArgumentException(name + " is negative: " + v);
    }
    return v;
  }

  private static Long optionalLong(Map<String, String> f, String name) {
    String v = f.get(name);
    return v == null || v.isEmpty() ? null : longField(f, name, null);
  }

  private static Integer optionalInt(Map<String, String> f, String name) {
    String v = f.get(name);
    return v == null || v.isEmpty() ? null : intField(f, name, null);
  }

  private static boolean flag(Map<String, String> f, String name) {
    String v = f.getOrDefault(name, "0");
    return switch (v) {
      case "1", "true" -> true;
      case "0", "false", "" -> false;
      default -> throw new IllegalArgumentException(name + " is not 0 or 1: " + v);
    };
  }
}
