package ai.gpt.api.admin;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import java.time.OffsetDateTime;
import java.time.temporal.Temporal;
import java.util.function.Function;

/** The JSON shapes the admin routes share: cursor-paged lists and timestamps. */
final class AdminJson {
  private AdminJson() {}

  /**
   * One page of a list queried with {@code limit + 1} rows, newest id first: the extra row only tells that there
   * is more, and {@code next_before} is the last id shown.
   */
  static JsonObject page(RowSet<Row> rows, int limit, Function<Row, JsonObject> item) {
    JsonArray data = new JsonArray();
    for (Row r : rows) {
      if (data.size() < limit) {
        data.add(item.apply(r));
      }
    }
    boolean more = rows.size() > limit;
    return new JsonObject().put("object", "list").put("data", data).put("has_more", more)
        .put("next_before", more ? data.getJsonObject(data.size() - 1).getLong("id") : null);
  }

  /** A timestamptz as an ISO-8601 UTC instant. */
  static String time(Temporal t) {
    return t == null ? null : ((OffsetDateTime) t).toInstant().toString();
  }
}
