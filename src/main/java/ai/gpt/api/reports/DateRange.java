package ai.gpt.api.reports;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.input.Dates;
import io.vertx.ext.web.RoutingContext;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * A range of whole UTC days, both ends included, from the {@code from} and {@code to} query parameters
 * (YYYY-MM-DD). Defaults to the last 30 days including today; at most {@link #MAX_DAYS} days.
 */
record DateRange(LocalDate from, LocalDate to) {
  static final int MAX_DAYS = 366;
  static final int DEFAULT_DAYS = 30;

  static DateRange of(RoutingContext ctx) {
    LocalDate today = LocalDate.now(ZoneOffset.UTC);
    LocalDate to = date(ctx, "to");
    LocalDate from = date(ctx, "from");
    if (to == null) {
      to = from == null ? today : from.plusDays(DEFAULT_DAYS - 1);
    }
    if (from == null) {
      from = to.minusDays(DEFAULT_DAYS - 1);
    }
    if (from.isAfter(to)) {
      throw ApiError.invalidRequest("'from' (" + from + ") is after 'to' (" + to + ").", "from");
    }
    if (ChronoUnit.DAYS.between(from, to) + 1 > MAX_DAYS) {
      throw ApiError.invalidRequest("The range is longer than " + MAX_DAYS + " days.", "to");
    }
    return new DateRange(from, to);
  }

  private static LocalDate date(RoutingContext ctx, String name) {
    String raw = ctx.request().getParam(name);
    if (raw == null || raw.isEmpty()) {
      return null;
    }
    try {
      return Dates.day(raw);
    } catch (IllegalArgumentException e) {
      // Not echoed back: it may be anything, of any length.
      throw ApiError.invalidRequest("'" + name + "' must be a date as YYYY-MM-DD (UTC).", name);
    }
  }

  /** The first instant of the range. */
  OffsetDateTime start() {
    return from.atStartOfDay().atOffset(ZoneOffset.UTC);
  }

  /** The first instant after the range. */
  OffsetDateTime end() {
    return to.plusDays(1).atStartOfDay().atOffset(ZoneOffset.UTC);
  }
}
