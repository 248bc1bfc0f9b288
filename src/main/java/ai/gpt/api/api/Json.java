package ai.gpt.api.api;

import ai.gpt.api.billing.Money;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.json.StrictJson;
import ai.gpt.api.input.WholeNumber;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Reading /api request bodies, query and path parameters with clear 400s (one parser per kind of value: whole
 * numbers {@link WholeNumber}, money {@link Money#parseUsd}), and writing JSON answers.
 */
public final class Json {
  private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");

  private Json() {}

  /**
   * The body as a JSON object, parsed strictly (see {@link StrictJson}); 400 invalid_json otherwise. A string or
   * name holding U+0000 is 400 naming it: PostgreSQL text and JSONB cannot store that character (the query would
   * fail), and no /api field has a use for it.
   */
  public static JsonObject body(RoutingContext ctx) {
    JsonObject body = StrictJson.object(ctx.body().buffer());
    String nul = nulAt(body, "");
    if (nul != null) {
      throw ApiError.invalidRequest("'" + nul + "' contains the character U+0000, which is not allowed.", nul);
    }
    return body;
  }

  /** The path (a.b[0]) of the first name or string holding U+0000 in a parsed JSON value, or null. */
  private static String nulAt(Object value, String path) {
    if (value instanceof JsonObject object) {
      for (var e : object) {
        String at = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
        if (e.getKey().indexOf('\0') >= 0) {
          return at;
        }
        String inner = nulAt(e.getValue(), at);
        if (inner != null) {
          return inner;
        }
      }
    } else if (value instanceof JsonArray array) {
      for (int i = 0; i < array.size(); i++) {
        String inner = nulAt(array.getValue(i), path + "[" + i + "]");
        if (inner != null) {
          return inner;
        }
      }
    } else if (value instanceof String s && s.indexOf('\0') >= 0) {
      return path;
    }
    return null;
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

  /**
   * Required human text (a title, a message), stripped, without control characters other than newlines and tabs,
   * so nothing stored can rewrite a log line or an e-mail's layout.
   */
  public static String text(JsonObject body, String field, int max) {
    return noControlCharacters(string(body, field, max).strip(), field);
  }

  /**
   * {@code s} when it has no control character other than newlines and tabs (NUL included, which PostgreSQL
   * refuses in text); 400 naming {@code field} otherwise.
   */
  public static String noControlCharacters(String s, String field) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 && c != '\n' && c != '\t' || c == 0x7f) {
        throw ApiError.invalidRequest("'" + field + "' contains a control character.", field);
      }
    }
    return s;
  }

  /**
   * A required name (of an organization, a key, a person): one line of text, stripped, without any control
   * character (C0, DEL, C1) or line/paragraph separator, since names are written into log lines and e-mails.
   */
  public static String name(JsonObject body, String field, int max) {
    String s = string(body, field, max).strip();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.getType(c) == Character.CONTROL || c == 0x2028 || c == 0x2029) {
        throw ApiError.invalidRequest("'" + field + "' must be one line of text without control characters.",
            field);
      }
    }
    return s;
  }

  /** A required e-mail address field, stripped and lower-cased; 400 naming it unless it looks like one. */
  public static String email(JsonObject body, String field) {
    String email = string(body, field, 254).strip().toLowerCase(Locale.ROOT);
    if (!EMAIL.matcher(email).matches()) {
      throw ApiError.invalidRequest("'" + field + "' is not an e-mail address.", field);
    }
    return email;
  }

  /** An optional string field (null when absent). */
  public static String optionalString(JsonObject body, String field, int max) {
    return body.getValue(field) == null ? null : string(body, field, max);
  }

  public static void send(RoutingContext ctx, int status, JsonObject json) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(json.toBuffer());
  }

  /**
   * A query parameter that must be a whole number from 1 to {@code max} (ASCII digits, see {@link WholeNumber});
   * {@code absent} when not given.
   */
  public static long queryNumber(RoutingContext ctx, String name, long absent, long max) {
    List<String> values = ctx.queryParam(name);
    if (values.isEmpty() || values.get(0).isEmpty()) {
      return absent;
    }
    try {
      return WholeNumber.parse(values.get(0), 1, max);
    } catch (IllegalArgumentException e) {
      throw ApiError.invalidRequest("'" + name + "' must be a whole number from 1" + (max == Long.MAX_VALUE ? ""
          : " to " + max) + " (it " + e.getMessage() + ").", name);
    }
  }

  /** A numeric path parameter (an id, >= 1); anything else is answered with {@code unknown}, like an unknown id. */
  public static long pathId(RoutingContext ctx, String name, Supplier<ApiError> unknown) {
    try {
      return WholeNumber.parse(ctx.pathParam(name), 1, Long.MAX_VALUE);
    } catch (IllegalArgumentException e) {
      throw unknown.get();
    }
  }

  /**
   * A JSON body value that must be a whole number from {@code min} to {@code max}: a JSON integer, never
   * {@code 1.5}, {@code 1e3}, {@code "12"}, a boolean or a number beyond a long. 400 naming {@code param}.
   */
  public static long wholeNumber(Object value, String param, long min, long max) {
    try {
      return WholeNumber.ofJson(value, min, max);
    } catch (IllegalArgumentException e) {
      throw ApiError.invalidRequest("'" + param + "' " + e.getMessage() + ".", param);
    }
  }

  /**
   * A required USD amount, as a JSON string in {@link Money#parseUsd}'s plain decimal form, in micro-USD; 400
   * {@code invalid_amount} naming the field otherwise. A sign is allowed only when {@code signed}.
   */
  public static long usd(JsonObject body, String field, boolean signed) {
    Object v = body.getValue(field);
    String example = signed ? "\"10.00\" or \"-2.50\"" : "\"1.50\"";
    if (!(v instanceof String text)) {
      throw invalidAmount("'" + field + "' is required and must be a USD amount as a string, such as " + example
          + ".", field);
    }
    try {
      return Money.parseUsd(text, signed);
    } catch (IllegalArgumentException e) {
      throw invalidAmount("'" + field + "' must be a USD amount as a string, such as " + example + ": "
          + e.getMessage() + ".", field);
    }
  }

  public static ApiError invalidAmount(String message, String param) {
    return ApiError.of(400, "invalid_amount", message, param);
  }
}
