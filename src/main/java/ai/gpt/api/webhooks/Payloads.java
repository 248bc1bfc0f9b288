package ai.gpt.api.webhooks;

import ai.gpt.api.billing.Money;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The JSON body of a message, {@code {"type", "timestamp", "data"}}, fixed once when the message is made so every
 * retry sends (and signs) the same bytes. Money follows the rest of /api: every integer {@code *_micros} field gets
 * a {@code *_usd} sibling, a 6-decimal string.
 */
final class Payloads {
  private Payloads() {}

  static String single(String type, Instant at, JsonObject data) {
    return envelope(type, at, withUsd(data));
  }

  /**
   * A batch of usage.recorded events: {@code data = {"count": n, "events": [...]}}, oldest first. The events come as
   * JSON arrays written by PostgreSQL (complete, cost_usd included), one per outbox group; their elements are
   * pasted together as text, so the hot path parses nothing.
   */
  static String usageBatch(Instant at, List<String> eventArrays, int count) {
    StringBuilder body = new StringBuilder(96 + count * 400)
        .append("{\"type\":\"").append(EventTypes.USAGE_RECORDED).append("\",\"timestamp\":\"").append(at)
        .append("\",\"data\":{\"count\":").append(count).append(",\"events\":[");
    boolean first = true;
    for (String array : eventArrays) {
      if (array == null || array.length() < 2) {
        continue; // not a group our trigger wrote: nothing to paste
      }
      String elements = array.substring(1, array.length() - 1).strip(); // jsonb text: "[...]"
      if (!elements.isEmpty()) {
        body.append(first ? "" : ",").append(elements);
        first = false;
      }
    }
    return body.append("]}}").toString();
  }

  private static String envelope(String type, Instant at, JsonObject data) {
    return new JsonObject().put("type", type).put("timestamp", at.toString()).put("data", data).encode();
  }

  private static JsonObject withUsd(JsonObject data) {
    JsonObject out = new JsonObject();
    for (Map.Entry<String, Object> e : data) {
      out.put(e.getKey(), e.getValue() instanceof JsonObject o ? withUsd(o) : e.getValue());
      if (e.getKey().endsWith("_micros") && (e.getValue() instanceof Long || e.getValue() instanceof Integer)) {
        String usd = e.getKey().substring(0, e.getKey().length() - "_micros".length()) + "_usd";
        out.put(usd, Money.decimalUsd(((Number) e.getValue()).longValue()));
      }
    }
    return out;
  }
}
