package ai.gpt.api.status;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;

/**
 * Uptime from {@code status_minutes}. A minute's level is the worst level any replica recorded for it, worsened by
 * the 5xx share of the cluster's requests in it ({@link StatusLevel#ofErrors}, computed in SQL). A minute is up when
 * that level is operational or degraded performance; a period's uptime is up minutes / observed minutes, and
 * minutes with no row (nothing was running to observe them) count for nothing; no observed minute gives null.
 * The windows: the last 24 hours (rolling), the last 30 and 90 days (UTC calendar days, today included), and one
 * point per UTC day for the 90-day bars.
 *
 * <p>Finished days do not change, so they are read once per day (and again after {@link #PAST_TTL_MS}, for rows a
 * replica flushed late); each refresh reads only the last 24 hours and today.
 */
final class UptimeHistory {
  static final int DAYS = 90;
  private static final long PAST_TTL_MS = 10 * 60_000;
  private static final String EFFECTIVE = "GREATEST(level, CASE WHEN requests >= $3 AND requests > 0"
      + " AND errors * 2 >= requests THEN 3 WHEN requests >= $3 AND requests > 0 AND errors >= requests * $4::float8"
      + " THEN 2 ELSE 0 END)";
  private static final String DAILY = "SELECT component, (minute AT TIME ZONE 'UTC')::date AS day,"
      + " count(*) AS observed, count(*) FILTER (WHERE eff <= 1) AS up, max(eff) AS worst FROM (SELECT component, minute, " + EFFECTIVE
      + " AS eff FROM status_minutes WHERE minute >= $1 AND minute < $2) m GROUP BY 1, 2";
  private static final String WINDOW = "SELECT component, count(*) AS observed, count(*) FILTER (WHERE eff <= 1) AS up"
      + " FROM (SELECT component, " + EFFECTIVE + " AS eff FROM status_minutes WHERE minute >= $1 AND minute < $2) m"
      + " GROUP BY 1";

  /** Observed and up minutes, and the worst level, of one component on one day. */
  record Day(long observed, long up, int worst) {
    Day plus(Day o) {
      return new Day(observed + o.observed, up + o.up, Math.max(worst, o.worst));
    }
  }

  /** Everything the page needs, per component. */
  record Snapshot(LocalDate today, Map<String, Map<LocalDate, Day>> days, Map<String, Day> last24h) {}

  private final Pool pool;
  private final long minRequests;
  private final double errorRate;
  private LocalDate pastLoadedFor;
  private long pastLoadedAtMs;
  private Map<String, Map<LocalDate, Day>> past = Map.of();

  UptimeHistory(Pool pool, long minRequests, double errorRate) {
    this.pool = pool;
    this.minRequests = minRequests;
    this.errorRate = errorRate;
  }

  /** Reads what changed since the last call (see the class comment); call from one context at a time. */
  Future<Snapshot> load(Instant now) {
    LocalDate today = now.atOffset(ZoneOffset.UTC).toLocalDate();
    Instant midnight = today.atStartOfDay().toInstant(ZoneOffset.UTC);
    Future<Map<String, Map<LocalDate, Day>>> pastDays;
    if (today.equals(pastLoadedFor) && System.currentTimeMillis() - pastLoadedAtMs < PAST_TTL_MS) {
      pastDays = Future.succeededFuture(past);
    } else {
      pastDays = daily(today.minusDays(DAYS - 1).atStartOfDay().toInstant(ZoneOffset.UTC), midnight)
          .onSuccess(loaded -> {
            past = loaded;
            pastLoadedFor = today;
            pastLoadedAtMs = System.currentTimeMillis();
          });
    }
    Future<Map<String, Map<LocalDate, Day>>> todayDays = daily(midnight, now.plusSeconds(60));
    Future<Map<String, Day>> window = window(now.minusSeconds(24 * 3600), now.plusSeconds(60));
    return Future.all(pastDays, todayDays, window).map(v -> {
      Map<String, Map<LocalDate, Day>> all = new HashMap<>();
      pastDays.result().forEach((c, d) -> all.computeIfAbsent(c, x -> new HashMap<>()).putAll(d));
      todayDays.result().forEach((c, d) -> all.computeIfAbsent(c, x -> new HashMap<>()).putAll(d));
      return new Snapshot(today, all, window.result());
    });
  }

  private Future<Map<String, Map<LocalDate, Day>>> daily(Instant from, Instant to) {
    return pool.preparedQuery(DAILY).execute(args(from, to)).map(rows -> {
      Map<String, Map<LocalDate, Day>> out = new HashMap<>();
      for (Row r : rows) {
        out.computeIfAbsent(r.getString("component"), c -> new HashMap<>())
            .put(r.getLocalDate("day"), new Day(r.getLong("observed"), r.getLong("up"), r.getInteger("worst")));
      }
      return out;
    });
  }

  private Future<Map<String, Day>> window(Instant from, Instant to) {
    return pool.preparedQuery(WINDOW).execute(args(from, to)).map(rows -> {
      Map<String, Day> out = new HashMap<>();
      for (Row r : rows) {
        out.put(r.getString("component"), new Day(r.getLong("observed"), r.getLong("up"), 0));
      }
      return out;
    });
  }

  private Tuple args(Instant from, Instant to) {
    return Tuple.of(from.atOffset(ZoneOffset.UTC), to.atOffset(ZoneOffset.UTC), minRequests, errorRate);
  }

  /** The uptime JSON of one component: 24 h, 30 d, 90 d and the daily series (oldest first). */
  static JsonObject json(Snapshot snapshot, String component) {
    Map<LocalDate, Day> days = snapshot.days().getOrDefault(component, Map.of());
    Day d30 = new Day(0, 0, 0);
    Day d90 = new Day(0, 0, 0);
    JsonArray series = new JsonArray();
    for (int i = DAYS - 1; i >= 0; i--) {
      LocalDate date = snapshot.today().minusDays(i);
      Day day = days.get(date);
      if (day != null) {
        d90 = d90.plus(day);
        if (i < 30) {
          d30 = d30.plus(day);
        }
      }
      series.add(new JsonObject().put("date", date.toString())
          .put("uptime_percent", day == null ? null : percent(day))
          .put("observed_minutes", day == null ? 0 : day.observed())
          .put("worst_status", day == null ? null : StatusLevel.ofCode(day.worst()).json()));
    }
    Day d24 = snapshot.last24h().get(component);
    return new JsonObject()
        .put("last_24h_percent", d24 == null ? null : percent(d24))
        .put("last_30d_percent", percent(d30))
        .put("last_90d_percent", percent(d90))
        .put("daily", series);
  }

  /** Up minutes / observed minutes in percent, rounded down to 3 decimals (never 100 with a bad minute). */
  static BigDecimal percent(Day day) {
    if (day.observed() == 0) {
      return null;
    }
    return BigDecimal.valueOf(day.up() * 100).divide(BigDecimal.valueOf(day.observed()), 3, RoundingMode.DOWN);
  }
}
