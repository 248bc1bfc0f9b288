package ai.gpt.api.usage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class UsageRetentionTest {
  private UsageFixture fx;

  @AfterEach
  void stop() {
    if (fx != null) {
      fx.pool.query("DROP TABLE IF EXISTS usage_y1999m01, usage_y1999m02, usage_y1999m03").execute().await();
      fx.close();
    }
  }

  private void sql(String statement) {
    fx.pool.query(statement).execute().await();
  }

  /** A usage row (and its exactly-once guard) at that time. */
  private void row(String requestId, long org, String createdAt) {
    sql("INSERT INTO usage (request_id, org_id, model, cost_micros, status, created_at) VALUES ('" + requestId
        + "', " + org + ", 'gpt-fast', 10, 200, '" + createdAt + "')");
    sql("INSERT INTO usage_requests (request_id) VALUES ('" + requestId + "')");
  }

  private boolean exists(String table) {
    return fx.count("SELECT count(*) FROM pg_class WHERE relname = $1", table) > 0;
  }

  @Test
  @DisplayName("retention drops the months before the kept ones (attached or left detached) with their request ids;"
      + " the current month, the kept months and the ledger stay")
  void dropsOldMonthsOnly(Vertx vertx) {
    fx = UsageFixture.clean(vertx);
    long org = fx.createOrg("retention");
    sql("SELECT usage_ensure_partitions(1)");
    // Two old months attached, a third left detached (a crash between detach and drop), a row of an old month
    // that fell into usage_default, and rows of the current month and of the month retention keeps last.
    sql("CREATE TABLE usage_y1999m01 PARTITION OF usage"
        + " FOR VALUES FROM ('1999-01-01 00:00Z') TO ('1999-02-01 00:00Z')");
    sql("CREATE TABLE usage_y1999m02 PARTITION OF usage"
        + " FOR VALUES FROM ('1999-02-01 00:00Z') TO ('1999-03-01 00:00Z')");
    sql("CREATE TABLE usage_y1999m03 (LIKE usage INCLUDING DEFAULTS)");
    row("old-1", org, "1999-01-15 12:00Z");
    row("old-2", org, "1999-02-15 12:00Z");
    sql("INSERT INTO usage_y1999m03 (request_id, org_id, model, cost_micros, status, created_at)"
        + " VALUES ('old-3', " + org + ", 'gpt-fast', 10, 200, '1999-03-15 12:00Z')");
    sql("INSERT INTO usage_requests (request_id) VALUES ('old-3')");
    row("old-default", org, "1998-06-01 00:00Z");
    YearMonth now = YearMonth.now(ZoneOffset.UTC);
    row("current", org, now.atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC).toString());
    sql("INSERT INTO credit_ledger (org_id, amount_micros, kind, idempotency_key, created_at)"
        + " VALUES (" + org + ", -30, 'debit', 'usage:day:" + org + ":1999-01-15', '1999-01-15 00:00Z')");

    assertEquals(0, new UsageRetention(fx.pool, 0).run().await(), "0 keeps every month");
    assertEquals(4, fx.count("SELECT count(*) FROM usage WHERE org_id = $1", org));

    assertEquals(3, new UsageRetention(fx.pool, 2).run().await());

    for (String table : List.of("usage_y1999m01", "usage_y1999m02", "usage_y1999m03")) {
      assertEquals(false, exists(table), table + " dropped");
    }
    String current = "usage_y" + now.getYear() + "m" + String.format("%02d", now.getMonthValue());
    assertEquals(true, exists(current), "the current month stays");
    assertEquals(List.of("current"), fx.texts("SELECT request_id FROM usage ORDER BY request_id"),
        "old rows gone, the old one in usage_default too");
    assertEquals(List.of("current"), fx.texts("SELECT request_id FROM usage_requests ORDER BY request_id"),
        "request ids of dropped months are no longer guarded");
    assertEquals(-30, fx.count("SELECT balance_micros FROM org_balances WHERE org_id = $1", org),
        "the ledger (and so the balance) keeps its history");
    assertEquals(0, new UsageRetention(fx.pool, 2).run().await(), "a second pass finds nothing");
  }

  @Test
  @DisplayName("a new monthly partition adopts indexes built before it was attached: every index of usage")
  void newPartitionsHaveEveryIndex(Vertx vertx) {
    fx = UsageFixture.clean(vertx);
    sql("SELECT usage_ensure_partitions(1)");
    YearMonth next = YearMonth.now(ZoneOffset.UTC).plusMonths(6);
    String table = "usage_y" + next.getYear() + "m" + String.format("%02d", next.getMonthValue());
    sql("DROP TABLE IF EXISTS " + table);
    sql("SELECT usage_ensure_partitions(6)");
    long parentIndexes = fx.count("SELECT count(*) FROM pg_index WHERE indrelid = 'usage'::regclass");
    assertEquals(parentIndexes, fx.count("SELECT count(*) FROM pg_index i"
        + " JOIN pg_inherits h ON h.inhrelid = i.indexrelid WHERE i.indrelid = $1::regclass AND h.inhparent IN (SELECT indexrelid FROM pg_index"
        + " WHERE indrelid = 'usage'::regclass)", table), "each of the parent's indexes has its partition index");
    sql("DROP TABLE " + table);
  }
}
