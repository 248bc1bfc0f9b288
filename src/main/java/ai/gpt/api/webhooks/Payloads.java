package ai.gpt.api.webhooks;

import ai.gpt.api.billing.Money;
import io.vertx.core.json.JsonArray;
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

  /** A batch of usage.recorded events: {@code data = {"count": n, "events": [...]}}, oldest first. */
  static String usageBatch(Instant at, List<JsonObject> events) {
    JsonArray array = new JsonArray();
    events.forEach(e -> array.add(withUsd(e)));
    return envelope(EventTypes.USAGE_RECORDED, at, new JsonObject().put("count", events.size()).put("events", array));
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
