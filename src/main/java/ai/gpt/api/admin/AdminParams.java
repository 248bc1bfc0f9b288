package ai.gpt.api.admin;

import ai.gpt.api.api.Json;
import ai.gpt.api.error.ApiError;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/** Reads and checks the admin routes' path ids, query parameters and body numbers; bad input is a 400 or 404. */
final class AdminParams {
  private static final int DEFAULT_PAGE = 50;
  private static final int MAX_PAGE = 200;
  private static final int MAX_QUERY = 200;

  private AdminParams() {}

  /** The {@code q} search text, or null when absent or blank. */
  static String query(RoutingContext ctx) {
    List<String> values = ctx.queryParam("q");
    if (values.isEmpty() || values.get(0).isBlank()) {
      return null;
    }
    String q = values.get(0).strip();
    if (q.length() > MAX_QUERY) {
      throw ApiError.invalidRequest("'q' is longer than " + MAX_QUERY + " characters.", "q");
    }
    return q;
  }

  /** The {@code limit} query parameter of a list page. */
  static int limit(RoutingContext ctx) {
    return (int) Json.queryNumber(ctx, "limit", DEFAULT_PAGE, MAX_PAGE);
  }

  /** The {@code before} cursor of a list page, or null for the first page. */
  static Long before(RoutingContext ctx) {
    long before = Json.queryNumber(ctx, "before", 0, Long.MAX_VALUE);
    return before == 0 ? null : before;
  }

  static int positiveInt(JsonObject body, String field, int absent) {
    Object v = body.getValue(field);
    return v == null ? absent : (int) Json.wholeNumber(v, field, 1, Integer.MAX_VALUE);
  }

  /** A malformed id is answered like an unknown one: neither names anything. */
  static long pathId(RoutingContext ctx, String name, String what) {
    return Json.pathId(ctx, name, () -> noSuch(what));
  }

  static ApiError noSuch(String what) {
    return ApiError.of(404, "not_found", "No such " + what + ".", null);
  }
}
