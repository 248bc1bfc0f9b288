package ai.gpt.api.api;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.json.StrictJson;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/** Reading /api request bodies with clear 400s, and writing JSON answers. */
public final class Json {
  private Json() {}

  /** The body as a JSON object, parsed strictly (see {@link StrictJson}); 400 invalid_json otherwise. */
  public static JsonObject body(RoutingContext ctx) {
    return StrictJson.object(ctx.body().buffer());
  }

  /** A required string field of at most {@code max} characters. */
  public static String string(JsonObject body, String field, int max) {
    Object v = body.getValue(field);
    if (!(v instanceof String s) || s.isBlank()) {
      throw ApiError.invalidRequest("'" + field + "' is required and must be a non-empty string.", field);
    }
    if (s.length() > max) {
      throw ApiError.invalidRequest("'" + field + "' is longer than " + max + " characters.", field);
    }
    return s;
  }

  /** An optional string field (null when absent). */
  public static String optionalString(JsonObject body, String field, int max) {
    return body.getValue(field) == null ? null : string(body, field, max);
  }

  public static void send(RoutingContext ctx, int status, JsonObject json) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(json.toBuffer());
  }

  /** A query parameter that must be a whole number from 1 to {@code max}; {@code absent} when not given. */
  public static long queryNumber(RoutingContext ctx, String name, long absent, long max) {
    List<String> values = ctx.queryParam(name);
    if (values.isEmpty() || values.get(0).isEmpty()) {
      return absent;
    }
    try {
      long v = Long.parseLong(values.get(0));
      if (v >= 1 && v <= max) {
        return v;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ApiError.invalidRequest("'" + name + "' must be a whole number from 1" + (max == Long.MAX_VALUE ? ""
        : " to " + max) + ".", name);
  }
}
