package ai.gpt.api.webhooks;

import ai.gpt.api.error.ApiError;
import io.vertx.core.json.JsonArray;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The event types an endpoint may subscribe to (README "Webhooks" documents each payload). */
public final class EventTypes {
  public static final String USAGE_RECORDED = "usage.recorded";
  public static final String LIMITS_EXCEEDED = "limits.exceeded";
  /** Sent only by POST …/test, to the one endpoint tested; never subscribed to. */
  public static final String TEST = "webhook.test";

  public static final List<String> ALL = List.of(USAGE_RECORDED, "credits.added", "credits.low",
      "payment.succeeded", "payment.failed", "key.created", "key.revoked", LIMITS_EXCEEDED,
      "incident.created", "incident.updated", "incident.resolved");

  private EventTypes() {}

  /** The {@code events} field: a non-empty array of known types, without duplicates. 400 otherwise. */
  public static String[] parse(Object value) {
    if (!(value instanceof JsonArray array) || array.isEmpty()) {
      throw ApiError.invalidRequest("'events' is required: a non-empty array of event types, from " + ALL + ".",
          "events");
    }
    if (array.size() > ALL.size()) {
      throw ApiError.invalidRequest("'events' lists more types than exist.", "events");
    }
    Set<String> types = new LinkedHashSet<>();
    for (Object item : array) {
      if (!(item instanceof String type) || !ALL.contains(type)) {
        throw ApiError.invalidRequest("'events' contains an unknown event type " + abbreviated(item)
            + "; known types: " + ALL + ".", "events");
      }
      if (!types.add(type)) {
        throw ApiError.invalidRequest("'events' lists '" + type + "' twice.", "events");
      }
    }
    return types.toArray(String[]::new);
  }

  private static String abbreviated(Object item) {
    String text = String.valueOf(item);
    return "'" + (text.length() > 60 ? text.substring(0, 60) + "…" : text) + "'";
  }
}
