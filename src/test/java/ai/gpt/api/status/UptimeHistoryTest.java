package ai.gpt.api.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.gpt.api.db.Database;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The uptime arithmetic over a synthetic minute history written straight into PostgreSQL. */
@ExtendWith(VertxExtension.class)
class UptimeHistoryTest {
  private static final long MIN_REQUESTS = 10;
  private static final double ERROR_RATE = 0.05;
  private final String component = "service:uptime-test-" + System.nanoTime();
  private Pool pool;

  @BeforeEach
  void setUp(Vertx vertx) {
    TestServices.ensureDatabase();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 2);
  }

  @AfterEach
  void tearDown() {
    pool.preparedQuery("DELETE FROM status_minutes WHERE component = $1").execute(Tuple.of(component)).await();
    pool.close().await();
  }

  private void minute(Instant at, int level, long requests, long errors) {
    pool.preparedQuery("INSERT INTO status_minutes (component, minute, level, requests, errors)"
        + " VALUES ($1, $2, $3, $4, $5)").execute(Tuple.of(component, at.atOffset(ZoneOffset.UTC), (short) level,
            requests, errors)).await();
  }

  private static BigDecimal pct(long up, long observed) {
    return UptimeHistory.percent(new UptimeHistory.Day(observed, up, 0));
  }

  @Test
  @DisplayName("uptime = up minutes / observed minutes over 24 h, 30 d and 90 d, degraded counts as up, errors count")
  void arithmetic() {
    Instant now = LocalDate.now(ZoneOffset.UTC).atStartOfDay().toInstant(ZoneOffset.UTC).plus(12, ChronoUnit.HOURS);
    Instant elevenToday = now.minus(1, ChronoUnit.HOURS);
    // Today, 10 minutes: 6 operational, 1 degraded (up), 1 partial outage (down), 1 operational by health but half
    // of 20 requests failed (major outage: down), 1 with 5 of 5 failed (under STATUS_MIN_REQUESTS: says nothing).
    for (int i = 0; i < 6; i++) {
      minute(elevenToday.plus(i, ChronoUnit.MINUTES), 0, 100, 1);
    }
    minute(elevenToday.plus(6, ChronoUnit.MINUTES), 1, 0, 0);
    minute(elevenToday.plus(7, ChronoUnit.MINUTES), 2, 0, 0);
    minute(elevenToday.plus(8, ChronoUnit.MINUTES), 0, 20, 10);
    minute(elevenToday.plus(9, ChronoUnit.MINUTES), 0, 5, 5);
    // 10 % of 100 requests failed: above STATUS_ERROR_RATE, a partial outage (down).
    minute(elevenToday.plus(10, ChronoUnit.MINUTES), 0, 100, 10);
    // Yesterday: one bad minute 23 h ago (inside the last 24 h), one 25 h ago (outside it).
    minute(now.minus(23, ChronoUnit.HOURS), 3, 0, 0);
    minute(now.minus(25, ChronoUnit.HOURS), 3, 0, 0);
    // 5 days ago, a whole day observed with one major-outage minute: 1439 / 1440.
    Instant fiveDays = now.truncatedTo(ChronoUnit.DAYS).minus(5, ChronoUnit.DAYS);
    pool.preparedQuery("INSERT INTO status_minutes (component, minute, level) SELECT $1, $2::timestamptz"
        + " + make_interval(mins => m), CASE WHEN m = 700 THEN 3 ELSE 0 END FROM generate_series(0, 1439) AS m")
        .execute(Tuple.of(component, fiveDays.atOffset(ZoneOffset.UTC))).await();
    // 45 days ago: 100 minutes, half of them down; 100 days ago: outside every window.
    Instant fortyFive = now.minus(45, ChronoUnit.DAYS);
    for (int i = 0; i < 100; i++) {
      minute(fortyFive.plus(i, ChronoUnit.MINUTES), i % 2 == 0 ? 0 : 2, 0, 0);
    }
    minute(now.minus(100, ChronoUnit.DAYS), 3, 0, 0);

    UptimeHistory history = new UptimeHistory(pool, MIN_REQUESTS, ERROR_RATE);
    UptimeHistory.Snapshot snapshot = history.load(now).await();
    JsonObject uptime = UptimeHistory.json(snapshot, component);

    long todayObserved = 11;
    long todayUp = 8;
    assertEquals(pct(todayUp, todayObserved + 1), decimal(uptime, "last_24h_percent"), "24 h: today + 23 h ago");
    long observed30 = todayObserved + 2 + 1440;
    long up30 = todayUp + 1439;
    assertEquals(pct(up30, observed30), decimal(uptime, "last_30d_percent"));
    assertEquals(pct(up30 + 50, observed30 + 100), decimal(uptime, "last_90d_percent"));

    JsonArray daily = uptime.getJsonArray("daily");
    assertEquals(90, daily.size());
    LocalDate today = now.atOffset(ZoneOffset.UTC).toLocalDate();
    assertEquals(today.minusDays(89).toString(), daily.getJsonObject(0).getString("date"), "oldest first");
    JsonObject last = daily.getJsonObject(89);
    assertEquals(today.toString(), last.getString("date"));
    assertEquals(new BigDecimal("72.727"), decimal(last, "uptime_percent"), "8 of 11 minutes today");
    assertEquals(todayObserved, last.getLong("observed_minutes"));
    assertEquals("major_outage", last.getString("worst_status"));
    JsonObject five = daily.getJsonObject(84);
    assertEquals(new BigDecimal("99.930"), decimal(five, "uptime_percent"), "1439 / 1440, rounded down");
    assertEquals(1440, five.getLong("observed_minutes"));
    JsonObject yesterday = daily.getJsonObject(88);
    assertEquals(new BigDecimal("0.000"), decimal(yesterday, "uptime_percent"));
    JsonObject empty = daily.getJsonObject(80);
    assertNull(empty.getValue("uptime_percent"), "a day with no data has no uptime");
    assertEquals(0, empty.getLong("observed_minutes"));
    assertNull(empty.getValue("worst_status"));
    assertEquals(new BigDecimal("50.000"), decimal(daily.getJsonObject(89 - 45), "uptime_percent"));

    JsonObject unknown = UptimeHistory.json(snapshot, "service:never-recorded");
    assertNull(unknown.getValue("last_24h_percent"));
    assertNull(unknown.getValue("last_90d_percent"));
  }

  private static BigDecimal decimal(JsonObject json, String field) {
    Object v = json.getValue(field);
    return v == null ? null : new BigDecimal(v.toString()).setScale(3);
  }

  @Test
  @DisplayName("two replicas' samples of a minute make ONE row: worst level, requests added; rows past retention go")
  void recordedOncePerClusterWithRetention(Vertx vertx) {
    Instant now = Instant.now();
    minute(now.minus(101, ChronoUnit.DAYS).truncatedTo(ChronoUnit.MINUTES), 0, 0, 0);
    minute(now.minus(99, ChronoUnit.DAYS).truncatedTo(ChronoUnit.MINUTES), 0, 0, 0);
    MinuteRecorder replicaA = new MinuteRecorder(pool, 100);
    MinuteRecorder replicaB = new MinuteRecorder(pool, 100);
    replicaA.record(sample(now, StatusLevel.OPERATIONAL, 7, 1)).await();
    replicaB.record(sample(now, StatusLevel.PARTIAL_OUTAGE, 5, 2)).await();
    replicaA.record(sample(now, StatusLevel.OPERATIONAL, 3, 0)).await();
    var rows = pool.preparedQuery("SELECT minute, level, requests, errors FROM status_minutes WHERE component = $1"
        + " ORDER BY minute").execute(Tuple.of(component)).await();
    assertEquals(2, rows.size(), "the 101-day-old row pruned, the 99-day-old one kept, one row for this minute");
    var current = rows.iterator();
    current.next();
    var row = current.next();
    assertEquals(now.truncatedTo(ChronoUnit.MINUTES), row.getOffsetDateTime("minute").toInstant());
    assertEquals((short) 2, row.getShort("level"), "the worst level any replica saw");
    assertEquals(15L, row.getLong("requests"), "every replica's requests added");
    assertEquals(3L, row.getLong("errors"));
  }

  private LiveSample sample(Instant at, StatusLevel health, long requests, long errors) {
    return new LiveSample(at, java.util.Map.of(component, new Observation(health, requests, errors)),
        new JsonArray(), new JsonArray(), new JsonArray(), java.util.Map.of());
  }
}
