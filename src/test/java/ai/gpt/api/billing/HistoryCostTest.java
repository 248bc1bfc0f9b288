package ai.gpt.api.billing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.limits.HotBalances;
import ai.gpt.api.limits.LimiterSettings;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.testing.UsageQueues;
import ai.gpt.api.usage.QueuedUsageBalance;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Balances cost the same however long an organization's history: one organization with 10 million usage rows
 * over the last year and a 1-million-row ledger (per-request debits, as written before V024) is admitted cold,
 * and its balance read, within a few milliseconds. The history is generated in SQL with triggers off (one
 * INSERT … SELECT per table; a row trigger per row would only slow the seeding), then the running balance is
 * computed once from the ledger, as the migration does. {@code -Dhistory.usageRows=N} seeds fewer usage rows.
 */
@ExtendWith(VertxExtension.class)
class HistoryCostTest {
  private static final long USAGE_ROWS = Long.getLong("history.usageRows", 10_000_000L);
  private static final long LEDGER_ROWS = 1_000_000L;
  private static final long BOUND_NANOS = 20_000_000L; // 20 ms
  private static final int SAMPLES = 15;

  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private Redis redis;
  private final List<String> partitions = new ArrayList<>();

  @AfterEach
  void stop() {
    if (gw != null) {
      // Leave the test database small for the next test: the seeded history is a few GB.
      gw.pool().query("TRUNCATE usage, usage_requests, credit_ledger").execute().await();
      for (String p : partitions) {
        gw.pool().query("DROP TABLE IF EXISTS \"" + p + "\"").execute().await();
      }
      gw.close();
    }
    if (fake != null) {
      fake.close().await();
    }
    if (redis != null) {
      redis.close().await();
    }
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES) // seeding 10 M rows alone takes over a minute on 2 cores
  @DisplayName("10 M usage rows and a 1 M-row ledger: the balance read, the hot balance load and a cold admission"
      + " over HTTP each stay within a few milliseconds, and the running balance equals the ledger's sum")
  void balancesDoNotGrowWithHistory(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(4).tokenDelayMs(0)).await();
    gw.addBackend("gpt-fast", fake);
    long org = gw.createOrg("busy", 100_000_000L);
    String key = gw.createKey(org, null);

    long t0 = System.nanoTime();
    seed(org);
    System.out.printf("HistoryCostTest: seeded %,d usage rows and %,d ledger rows in %.1f s%n", USAGE_ROWS,
        LEDGER_ROWS, (System.nanoTime() - t0) / 1e9);
    long sum = ledgerSum(org);
    assertEquals(100_000_000L - 15 * LEDGER_ROWS, sum);

    // What a balance used to cost: a SUM over the organization's whole ledger.
    long oldRead = median(5, () -> Future.succeededFuture(ledgerSum(org)));
    Ledger ledger = new Ledger(gw.pool());
    QueuedUsageBalance loader = new QueuedUsageBalance(ledger, redis);
    assertEquals(sum, ledger.balance(org).await(), "the running balance is the ledger's sum");
    assertEquals(sum, loader.load(org).await(), "the hot balance loads exact (nothing queued)");
    long read = median(SAMPLES, () -> ledger.balance(org));
    long load = median(SAMPLES, () -> loader.load(org));

    // Admission of the cold organization over HTTP: its hot balance dropped (generation bumped, key deleted)
    // before each request, against the same requests with the balance hot.
    JsonObject chat = new JsonObject().put("model", "gpt-fast").put("max_tokens", 1)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    for (int i = 0; i < 10; i++) {
      post(key, chat); // warm-up: JIT, connections, the key cache
    }
    List<Long> cold = new ArrayList<>();
    List<Long> warm = new ArrayList<>();
    for (int i = 0; i < SAMPLES; i++) {
      HotBalances.drop(redis, org, LimiterSettings.defaults().balanceTtlMs()).await();
      cold.add(post(key, chat));
      assertNotNull(redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(org))).await(),
          "the cold admission loaded the balance into Redis");
      warm.add(post(key, chat));
    }
    long coldMedian = median(cold);
    long warmMedian = median(warm);
    System.out.printf("HistoryCostTest: SUM over the 1 M-row ledger (the old balance read) %.2f ms; running balance"
            + " read %.3f ms; hot balance load (ledger + usage queue) %.3f ms; request with the balance cold %.2f ms,"
            + " hot %.2f ms (medians of %d)%n", oldRead / 1e6, read / 1e6, load / 1e6, coldMedian / 1e6,
        warmMedian / 1e6, SAMPLES);
    assertTrue(read < BOUND_NANOS, "balance read " + read / 1e6 + " ms");
    assertTrue(load < BOUND_NANOS, "hot balance load " + load / 1e6 + " ms");
    assertTrue(coldMedian - warmMedian < BOUND_NANOS, "a cold admission costs " + (coldMedian - warmMedian) / 1e6
        + " ms more than a hot one");

    // The requests' usage is written as day debits; the running balance still equals the ledger's sum.
    GatewayHarness.awaitTrue("the usage writer to empty the usage streams and outboxes",
        () -> UsageQueues.entries(redis) == 0 && UsageQueues.outboxed(redis) == 0);
    GatewayHarness.awaitTrue("every request's usage row", () -> gw.pool().preparedQuery("SELECT count(*) FROM usage"
        + " WHERE org_id = $1 AND created_at > now() - interval '1 hour'").execute(Tuple.of(org)).await()
        .iterator().next().getLong(0) == 10 + 2L * SAMPLES);
    assertEquals(ledgerSum(org), ledger.balance(org).await());
    assertTrue(ledgerSum(org) < sum, "the requests were charged");
  }

  /** Monthly partitions for the last year, 10 M usage rows over it, 1 M ledger debits, the running balance. */
  private void seed(long org) {
    gw.pool().query("SELECT 'usage_' || to_char(m, '\"y\"YYYY\"m\"MM') FROM generate_series("
        + "date_trunc('month', now() AT TIME ZONE 'UTC') - interval '12 months',"
        + " date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month', interval '1 month') m")
        .execute().await().forEach(r -> partitions.add(r.getString(0)));
    gw.pool().withConnection(conn -> conn.query("SET session_replication_role = replica").execute()
        .compose(v -> conn.query("""
            DO $$
            DECLARE m timestamp;
            BEGIN
              FOR m IN SELECT generate_series(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '12 months',
                                              date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month',
                                              interval '1 month') LOOP
                EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF usage FOR VALUES FROM (%L) TO (%L)',
                               'usage_' || to_char(m, '"y"YYYY"m"MM'), m AT TIME ZONE 'UTC',
                               (m + interval '1 month') AT TIME ZONE 'UTC');
              END LOOP;
            END $$""").execute())
        .compose(v -> conn.preparedQuery("""
            INSERT INTO usage (request_id, org_id, key_id, model, endpoint, prompt_tokens, completion_tokens,
                               cost_micros, status, latency_ms, created_at)
            SELECT 'hist-' || g, $1, 1, 'gpt-fast', 'chat', 10, 20, 15, 200, 100,
                   now() - interval '360 days' + g * (interval '359 days' / $2::bigint::float8)
              FROM generate_series(1, $2::bigint) g""").execute(Tuple.of(org, USAGE_ROWS)))
        .compose(v -> conn.preparedQuery("""
            INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key, request_id, created_at)
            SELECT $1, -15, 'debit', 'usage gpt-fast', 'usage:hist-' || g, 'hist-' || g,
                   now() - interval '360 days' + g * (interval '359 days' / $2::bigint::float8)
              FROM generate_series(1, $2::bigint) g""").execute(Tuple.of(org, LEDGER_ROWS)))
        .compose(v -> conn.preparedQuery("UPDATE org_balances SET balance_micros = (SELECT SUM(amount_micros)"
            + " FROM credit_ledger WHERE org_id = $1) WHERE org_id = $1").execute(Tuple.of(org)))
        .compose(v -> conn.query("RESET session_replication_role").execute())
        .compose(v -> conn.query("ANALYZE credit_ledger, org_balances").execute())).await();
  }

  private long ledgerSum(long org) {
    return gw.pool().preparedQuery("SELECT SUM(amount_micros) FROM credit_ledger WHERE org_id = $1")
        .execute(Tuple.of(org)).await().iterator().next().getLong(0);
  }

  /** Wall time of one chat request, which must succeed. */
  private long post(String key, JsonObject chat) {
    long t = System.nanoTime();
    HttpResponse<Buffer> r = gw.post("/v1/chat/completions", key, chat);
    long elapsed = System.nanoTime() - t;
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return elapsed;
  }

  private static long median(int n, Supplier<Future<?>> call) {
    List<Long> times = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long t = System.nanoTime();
      call.get().await();
      times.add(System.nanoTime() - t);
    }
    return median(times);
  }

  private static long median(List<Long> times) {
    List<Long> sorted = new ArrayList<>(times);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }
}
