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
import static ai.gpt.api.usage.UsageStreams.USAGE;

import ai.gpt.api.limits.SettledUsage;
import java.util.HashMap;
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
   * The record of a settlement at {@code tsMs}, without formatting and parsing its event on the request path; null
   * when {@link #parse} would refuse that event (keep the two rules alike): no model, or a count that does not fit
   * the usage table's integer columns (the writer that parses it then stores it in usage_rejects).
   */
  public static UsageRecord settled(SettledUsage u, long tsMs) {
    if (u.model().isEmpty() || u.promptTokens() > Integer.MAX_VALUE || u.completionTokens() > Integer.MAX_VALUE
        || u.cachedTokens() > Integer.MAX_VALUE || u.latencyMs() > Integer.MAX_VALUE
        || u.ttftMs() > Integer.MAX_VALUE) {
      return null;
    }
    return new UsageRecord(u.requestId(), u.orgId(), u.keyId(), u.model(), u.backendId() > 0 ? u.backendId() : null,
        u.endpoint(), (int) u.promptTokens(), (int) u.completionTokens(), (int) u.cachedTokens(), u.costMicros(),
        u.status(), u.estimated(), (int) u.latencyMs(), u.ttftMs() >= 0 ? (int) u.ttftMs() : null, tsMs);
  }

  /** The {@link UsageStreams#USAGE} value of a settlement (settle_v8.lua's ARGV 6). */
  public static String usage(SettledUsage u) {
    return pack(Long.toString(u.keyId()), u.backendId() > 0 ? Long.toString(u.backendId()) : "", u.endpoint(),
        Long.toString(u.promptTokens()), Long.toString(u.completionTokens()), Long.toString(u.cachedTokens()),
        Long.toString(u.costMicros()), Integer.toString(u.status()), u.estimated() ? "1" : "0",
        Long.toString(u.latencyMs()), u.ttftMs() >= 0 ? Long.toString(u.ttftMs()) : "", u.model());
  }

  /** Values in {@link UsageStreams#PACKED_FIELDS} order; only the last (the model) may contain a comma. */
  private static String pack(String... values) {
    return String.join(",", values);
  }

  /**
   * Parses a stream entry's fields, packed ({@link UsageStreams#fields}) or wide (settle_v6.lua and earlier, one
   * field per value). Required: request_id, org_id, model, cost_micros, status. Token counts
   * default to 0, the optional ids and timings to null, ts_ms to {@code fallbackTsMs} (the entry id's time).
   *
   * @throws IllegalArgumentException naming the offending field when the entry cannot be stored
   */
  public static UsageRecord parse(Map<String, String> fields, long fallbackTsMs) {
    String packed = fields.get(USAGE);
    return parseWide(packed == null ? fields : unpack(fields, packed), fallbackTsMs);
  }

  /** The fields with {@link UsageStreams#USAGE} spread into one field per value. */
  private static Map<String, String> unpack(Map<String, String> fields, String packed) {
    String[] values = packed.split(",", UsageStreams.PACKED_FIELDS.size());
    if (values.length != UsageStreams.PACKED_FIELDS.size()) {
      throw new IllegalArgumentException(USAGE + " holds " + values.length + " values, not "
          + UsageStreams.PACKED_FIELDS.size());
    }
    Map<String, String> wide = new HashMap<>(fields);
    for (int i = 0; i < values.length; i++) {
      wide.put(UsageStreams.PACKED_FIELDS.get(i), values[i]);
    }
    return wide;
  }

  private static UsageRecord parseWide(Map<String, String> f, long fallbackTsMs) {
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

  /** The stream entry fields for this record, as settle_v8.lua writes them. */
  public Map<String, String> toFields() {
    String usage = pack(keyId == null ? "" : keyId.toString(), backendId == null ? "" : backendId.toString(),
        endpoint, Integer.toString(promptTokens), Integer.toString(completionTokens), Integer.toString(cachedTokens),
        Long.toString(costMicros), Integer.toString(status), estimated ? "1" : "0",
        latencyMs == null ? "" : latencyMs.toString(), ttftMs == null ? "" : ttftMs.toString(), model);
    return UsageStreams.fields(requestId, Long.toString(orgId), usage, Long.toString(tsMs));
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
