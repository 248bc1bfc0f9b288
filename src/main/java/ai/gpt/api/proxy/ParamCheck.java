package ai.gpt.api.proxy;

import ai.gpt.api.error.ApiError;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigInteger;

/**
 * Type and range checks for one request parameter, answering OpenAI's 400 {@code invalid_request_error} with
 * {@code param} naming it (nested as {@code messages[0].role}). Values come from {@link ai.gpt.api.json.StrictJson},
 * so integers are Integer/Long/BigInteger, decimals are finite Doubles, and a number written with a fraction or
 * exponent ({@code 1.5}, {@code 1e3}) is never an integer.
 */
final class ParamCheck {
  private ParamCheck() {}

  static double number(Object v, String param, double min, double max) {
    if (!(v instanceof Number n)) {
      throw typeError(param, "a number", v);
    }
    double d = n.doubleValue();
    if (d < min || d > max) {
      throw ApiError.invalidRequest("Invalid '" + param + "': expected a number from " + plain(min) + " to "
          + plain(max) + ", but got " + v + " instead.", param);
    }
    return d;
  }

  static long integer(Object v, String param, long min, long max) {
    if (!(v instanceof Integer || v instanceof Long || v instanceof BigInteger)) {
      throw typeError(param, "an integer", v);
    }
    BigInteger b = v instanceof BigInteger big ? big : BigInteger.valueOf(((Number) v).longValue());
    if (b.compareTo(BigInteger.valueOf(min)) < 0 || b.compareTo(BigInteger.valueOf(max)) > 0) {
      throw ApiError.invalidRequest("Invalid '" + param + "': expected an integer "
          + (max == Long.MAX_VALUE ? "of at least " + min + " (at most " + max + ")" : "from " + min + " to " + max)
          + ", but got " + v + " instead.", param);
    }
    return b.longValue();
  }

  static boolean bool(Object v, String param) {
    if (!(v instanceof Boolean b)) {
      throw typeError(param, "a boolean", v);
    }
    return b;
  }

  static String string(Object v, String param) {
    if (!(v instanceof String s)) {
      throw typeError(param, "a string", v);
    }
    return s;
  }

  static String oneOf(Object v, String param, String... allowed) {
    String s = string(v, param);
    for (String a : allowed) {
      if (a.equals(s)) {
        return s;
      }
    }
    throw ApiError.invalidRequest("Invalid value for '" + param + "': expected one of " + String.join(", ", allowed)
        + ", but got '" + s + "' instead.", param);
  }

  static JsonObject object(Object v, String param) {
    if (!(v instanceof JsonObject o)) {
      throw typeError(param, "an object", v);
    }
    return o;
  }

  static JsonArray array(Object v, String param) {
    if (!(v instanceof JsonArray a)) {
      throw typeError(param, "an array", v);
    }
    return a;
  }

  /** An array of 1 to {@code max} strings. */
  static JsonArray strings(Object v, String param, int max) {
    JsonArray a = array(v, param);
    if (a.isEmpty() || a.size() > max) {
      throw ApiError.invalidRequest("Invalid '" + param + "': expected 1 to " + max + " items, but got " + a.size()
          + ".", param);
    }
    for (int i = 0; i < a.size(); i++) {
      string(a.getValue(i), param + "[" + i + "]");
    }
    return a;
  }

  static ApiError invalid(String param, String message) {
    return ApiError.invalidRequest("Invalid '" + param + "': " + message, param);
  }

  private static ApiError typeError(String param, String expected, Object got) {
    return ApiError.invalidRequest("Invalid type for '" + param + "': expected " + expected + ", but got "
        + kind(got) + " instead.", param);
  }

  private static String kind(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof String) {
      return "a string";
    }
    if (v instanceof Boolean) {
      return "a boolean";
    }
    if (v instanceof Double) {
      return "a decimal";
    }
    if (v instanceof Number) {
      return "an integer";
    }
    return v instanceof JsonArray ? "an array" : "an object";
  }

  private static String plain(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }
}
