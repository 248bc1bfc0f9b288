package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageFixture.awaitValue;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Measures (prints, does not assert) how many usage rows per second one writer stores. Events are queued
 * first, then one writer drains them; twice, cold (fresh JVM) and warm. Each event is one usage row plus one
 * ledger row. USAGE_BENCH_EVENTS / _BATCH / _CONCURRENCY / _WORKER=1 change the run. It is a benchmark, not a
 * check, so it runs only when asked: {@code USAGE_BENCH=1 mvn -B test -Dtest=UsageWriterThroughputTest}.
 * USAGE_BENCH_WEBHOOKS=1 subscribes every organization to usage.recorded webhooks first (the outbox trigger's cost).
 */
@EnabledIfEnvironmentVariable(named = "USAGE_BENCH", matches = "1")
@ExtendWith(VertxExtension.class)
class UsageWriterThroughputTest {
  private UsageFixture fx;

  @BeforeEach
  void setUp(Vertx vertx) {
    fx = UsageFixture.clean(vertx);
  }

  @AfterEach
  void tearDown() {
    fx.close();
  }

  @Test
  @DisplayName("throughput: rows per second written by one writer (printed)")
  void throughput() {
    int n = Integer.parseInt(System.getenv().getOrDefault("USAGE_BENCH_EVENTS", "100000"));
    int batch = Integer.parseInt(System.getenv().getOrDefault("USAGE_BENCH_BATCH",
        String.valueOf(UsageWriterSettings.DEFAULT_BATCH_SIZE)));
    int concurrency = Integer.parseInt(System.getenv().getOrDefault("USAGE_BENCH_CONCURRENCY", "2"));
    List<Long> orgs = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      orgs.add(fx.createOrg("bench"));
    }
    if ("1".equals(System.getenv("USAGE_BENCH_WEBHOOKS"))) {
      // Every organization subscribed to usage.recorded: each usage row also writes a webhook outbox row.
      fx.pool.preparedQuery("INSERT INTO webhook_endpoints (org_id, url, events, secret) "
          + "SELECT unnest($1::bigint[]), 'https://example.com/hook', '{usage.recorded}', '\\x00'")
          .execute(io.vertx.sqlclient.Tuple.of((Object) orgs.toArray(Long[]::new))).await();
    }
    UsageWriterSettings settings = UsageWriterSettings.defaults().withBatchSize(batch)
        .withWriteConcurrency(concurrency);

    // Cold: a fresh writer (and JIT) drains n queued events.
    double cold = drain(realisticIds(UsageFixture.events("cold", orgs, n), 1), "cold", settings);
    // Warm: the same again once the JVM has compiled the hot path, as in a long-running gateway.
    double warm = drain(realisticIds(UsageFixture.events("warm", orgs, n), 2), "warm", settings);
    System.out.printf("USAGE WRITER THROUGHPUT: cold %.0f rows/s, warm %.0f rows/s (%d events each, batch %d, "
        + "%d concurrent)%n", cold, warm, n, batch, concurrency);
    assertEquals(2L * n, fx.count("SELECT count(*) FROM usage"));
  }

  /** Request ids as the gateway makes them ({@code req_} + 24 random hex digits), so index inserts are random. */
  private static List<UsageRecord> realisticIds(List<UsageRecord> events, long seed) {
    Random random = new Random(seed);
    List<UsageRecord> out = new ArrayList<>(events.size());
    for (UsageRecord r : events) {
      String id = String.format("req_%012x%012x", random.nextLong() & 0xffffffffffffL, random.nextLong() & 0xffffffffffffL);
      out.add(new UsageRecord(id, r.orgId(), r.keyId(), r.model(), r.backendId(), r.endpoint(), r.promptTokens(),
          r.completionTokens(), r.cachedTokens(), r.costMicros(), r.status(), r.estimated(), r.latencyMs(),
          r.ttftMs(), r.tsMs()));
    }
    return out;
  }

  private double drain(List<UsageRecord> events, String consumer, UsageWriterSettings settings) {
    long rowsBefore = fx.count("SELECT count(*) FROM usage");
    fx.xadd(events);
    long t0 = System.nanoTime();
    boolean worker = "1".equals(System.getenv("USAGE_BENCH_WORKER"));
    UsageWriter writer = fx.deploy(fx.pool, consumer, settings,
        new DeploymentOptions().setThreadingModel(worker ? ThreadingModel.WORKER : ThreadingModel.EVENT_LOOP));
    awaitValue("rows written", events.size(), Duration.ofMinutes(3), () -> writer.metrics().rowsWritten());
    double seconds = (System.nanoTime() - t0) / 1e9;
    fx.undeployAll();
    System.out.printf("  %s: %d rows in %.2f s = %.0f rows/s, %d transactions, mean %.1f ms each%n", consumer,
        events.size(), seconds, events.size() / seconds, writer.metrics().batches(),
        writer.metrics().batchLatency().mean(TimeUnit.MILLISECONDS));
    assertEquals(rowsBefore + events.size(), fx.count("SELECT count(*) FROM usage"));
    return events.size() / seconds;
  }
}
