package ai.gpt.api.status;

import ai.gpt.api.api.Json;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.input.Dates;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The strict readers of incident bodies, shared by the admin API and the CLI (which builds the same JSON from its
 * options): known fields only, enums checked, text lengths bounded, times parsed by {@link Dates} and never in the
 * future. Every problem is a 400 naming the field.
 */
public final class IncidentInput {
  public static final List<String> SEVERITIES = List.of("critical", "high", "medium", "low");
  public static final List<String> STATUSES = List.of("investigating", "identified", "monitoring", "resolved");
  static final int MAX_TITLE = 200;
  static final int MAX_MESSAGE = 5_000;
  static final int MAX_MODELS = 50;
  /** Clocks differ a little between an operator's machine and ours. */
  private static final long FUTURE_SKEW_SECONDS = 300;

  /** A new incident. */
  public record Open(String title, String severity, String status, String message, List<String> services,
      List<String> models, Instant startedAt) {}

  /** An update: a status (resolved closes the incident), a message, optionally a new severity. */
  public record Update(String status, String message, String severity, Instant at) {}

  private IncidentInput() {}

  public static Open open(JsonObject body) {
    allowOnly(body, "title", "severity", "status", "message", "services", "models", "started_at");
    String status = body.getValue("status") == null ? "investigating" : oneOf(body, "status", STATUSES);
    if (status.equals("resolved")) {
      throw ApiError.invalidRequest("A new incident cannot be resolved already; open it, then resolve it.", "status");
    }
    return new Open(Json.text(body, "title", MAX_TITLE), oneOf(body, "severity", SEVERITIES), status,
        Json.text(body, "message", MAX_MESSAGE), services(body), names(body, "models", MAX_MODELS),
        time(body, "started_at"));
  }

  public static Update update(JsonObject body) {
    allowOnly(body, "status", "message", "severity");
    return new Update(oneOf(body, "status", STATUSES), Json.text(body, "message", MAX_MESSAGE),
        body.getValue("severity") == null ? null : oneOf(body, "severity", SEVERITIES), null);
  }

  public static Update resolve(JsonObject body) {
    allowOnly(body, "message", "resolved_at");
    String message = body.getValue("message") == null ? "This incident has been resolved."
        : Json.text(body, "message", MAX_MESSAGE);
    return new Update("resolved", message, null, time(body, "resolved_at"));
  }

  private static void allowOnly(JsonObject body, String... fields) {
    for (String f : body.fieldNames()) {
      if (!List.of(fields).contains(f)) {
        throw ApiError.invalidRequest("Unknown field '" + f + "'; give " + String.join(", ", fields) + ".", f);
      }
    }
  }

  private static String oneOf(JsonObject body, String field, List<String> allowed) {
    Object v = body.getValue(field);
    if (!(v instanceof String s) || !allowed.contains(s)) {
      throw ApiError.invalidRequest("'" + field + "' must be one of " + String.join(", ", allowed) + ".", field);
    }
    return s;
  }

  private static List<String> services(JsonObject body) {
    List<String> list = names(body, "services", Service.values().length);
    for (String s : list) {
      if (!Service.ids().contains(s)) {
        throw ApiError.invalidRequest("'services' may contain only " + String.join(", ", Service.ids()) + ".",
            "services");
      }
    }
    return list;
  }

  /** An optional array of distinct short strings (model ids are checked against the catalog by the store). */
  private static List<String> names(JsonObject body, String field, int max) {
    Object v = body.getValue(field);
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof JsonArray array) || array.size() > max) {
      throw ApiError.invalidRequest("'" + field + "' must be an array of at most " + max + " strings.", field);
    }
    Set<String> out = new LinkedHashSet<>();
    for (Object item : array) {
      if (!(item instanceof String s) || s.isEmpty() || s.length() > 200) {
        throw ApiError.invalidRequest("'" + field + "' must hold non-empty strings of at most 200 characters.",
            field);
      }
      out.add(s);
    }
    return new ArrayList<>(out);
  }

  private static Instant time(JsonObject body, String field) {
    Object v = body.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s)) {
      throw ApiError.invalidRequest("'" + field + "' must be a string such as 2027-01-31T00:00:00Z.", field);
    }
    Instant at;
    try {
      at = Dates.instant(s).toInstant();
    } catch (IllegalArgumentException e) {
      throw ApiError.invalidRequest("'" + field + "' " + e.getMessage() + ".", field);
    }
    if (at.isAfter(Instant.now().plusSeconds(FUTURE_SKEW_SECONDS))) {
      throw ApiError.invalidRequest("'" + field + "' is in the future.", field);
    }
    return at;
  }
}
