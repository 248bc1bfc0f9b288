package ai.gpt.api.billing.stripe;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * Reading fields of an untrusted Stripe object: each is checked for its type, so a field that is missing, null or
 * of another type reads as null (or an empty list) instead of failing the event.
 */
final class StripeFields {
  /** Stripe ids are short ASCII tokens; anything longer is not taken as one. */
  private static final int MAX_ID = 255;

  private StripeFields() {}

  static JsonObject object(JsonObject o, String field) {
    return o != null && o.getValue(field) instanceof JsonObject j ? j : null;
  }

  static String string(JsonObject o, String field) {
    return o != null && o.getValue(field) instanceof String s ? s : null;
  }

  /** An id field: an id string, or an expanded object's id. */
  static String id(JsonObject o, String field) {
    Object v = o == null ? null : o.getValue(field);
    String id = v instanceof String s ? s : v instanceof JsonObject j ? string(j, "id") : null;
    return id != null && !id.isEmpty() && id.length() <= MAX_ID ? id : null;
  }

  /** The objects of a list field ({@code {object: "list", data: [...]}}). */
  static List<JsonObject> listData(JsonObject o, String field) {
    List<JsonObject> items = new ArrayList<>();
    if (object(o, field) != null && object(o, field).getValue("data") instanceof JsonArray data) {
      data.forEach(item -> {
        if (item instanceof JsonObject j) {
          items.add(j);
        }
      });
    }
    return items;
  }
}
