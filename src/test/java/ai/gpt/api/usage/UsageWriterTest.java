package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageFixture.awaitValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.billing.Ledger;
import ai.gpt.api.testing.UsageDebits;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class UsageWriterTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private UsageFixture fx;

  @BeforeEach
  void setUp(Vertx vertx) {
    fx = UsageFixture.clean(vertx);
  }

  @AfterEach
  void tearDown() {
    fx.close();
  }

  private long usageRows() {
    return fx.count("SELECT count(*) FROM usage");
  }

  @Test
  @DisplayName("queued events become usage rows and ledger debits with exact micro-USD amounts")
  void eventsBecomeRowsAndDebits() {
    long orgA = fx.createOrg("usage-a");
    long orgB = fx.createOrg("usage-b");
    assertTrue(UsageStreams.shardOf(orgA) != UsageStreams.shardOf(orgB), "two different shards");
    Ledger ledger = new Ledger(fx.pool);
    ledger.credit(orgA, 10_000_000, "prepaid", "test-credit-a").await();
    List<UsageRecord> events = UsageFixture.events("exact", List.of(orgA, orgB), 301);
    fx.xadd(events);

    UsageWriter writer = fx.deploy("w1", UsageWriterSettings.defaults());
    awaitValue("usage rows", 301, WAIT, this::usageRows);

    Map<Long, Long> cost = new HashMap<>();
    Map<Long, Long> count = new HashMap<>();
    for (UsageRecord r : events) {
      cost.merge(r.orgId(), r.costMicros(), Long::sum);
      count.merge(r.orgId(), 1L, Long::sum);
    }
    for (long org : List.of(orgA, orgB)) {
      assertEquals(count.get(org), fx.count("SELECT count(*) FROM usage WHERE org_id = $1", org));
      assertEquals(cost.get(org), fx.count("SELECT sum(cost_micros) FROM usage WHERE org_id = $1", org));
      assertEquals(fx.paidDays(org), fx.count("SELECT count(*) FROM credit_ledger WHERE org_id = $1 AND kind = 'debit'", org),
          "one debit per organization and UTC day, not one per request");
      assertEquals(-cost.get(org), fx.count("SELECT sum(amount_micros) FROM credit_ledger WHERE org_id = $1 AND kind = 'debit'", org));
    }
    assertEquals(10_000_000 - cost.get(orgA), ledger.balance(orgA).await(), "balance = credit - usage, to the micro-dollar");
    assertEquals(-cost.get(orgB), ledger.balance(orgB).await());

    // Every field of one event arrives intact, including nulls and the event's own timestamp.
    UsageRecord e = events.get(36); // backend and ttft null, estimated
    Row row = fx.pool.preparedQuery("SELECT * FROM usage WHERE request_id = $1").execute(Tuple.of(e.requestId()))
        .await().iterator().next();
    assertEquals(e.orgId(), row.getLong("org_id"));
    assertEquals(e.keyId(), row.getLong("key_id"));
    assertEquals(e.model(), row.getString("model"));
    assertNull(row.getLong("backend_id"));
    assertEquals("chat", row.getString("endpoint"));
    assertEquals(e.promptTokens(), row.getInteger("prompt_tokens"));
    assertEquals(e.completionTokens(), row.getInteger("completion_tokens"));
    assertEquals(e.cachedTokens(), row.getInteger("cached_tokens"));
    assertEquals(e.costMicros(), row.getLong("cost_micros"));
    assertEquals(e.status(), row.getInteger("status"));
    assertTrue(row.getBoolean("estimated"));
    assertEquals(e.latencyMs(), row.getInteger("latency_ms"));
    assertNull(row.getInteger("ttft_ms"));
    assertEquals(Instant.ofEpochMilli(e.tsMs()), row.getOffsetDateTime("created_at").toInstant());
    assertEquals(List.of(), fx.texts(UsageDebits.MISMATCHED), "each day's debit is that day's usage cost");
    Instant day = Instant.ofEpochMilli(e.tsMs()).truncatedTo(ChronoUnit.DAYS);
    Row debit = fx.pool.preparedQuery("SELECT * FROM credit_ledger WHERE idempotency_key = $1")
        .execute(Tuple.of("usage:day:" + e.orgId() + ":" + day.toString().substring(0, 10))).await().iterator().next();
    assertEquals("usage on " + day.toString().substring(0, 10) + " (UTC)", debit.getString("reason"));
    assertNull(debit.getString("request_id"), "a day's debit stands for many requests");
    assertEquals(day, debit.getOffsetDateTime("created_at").toInstant());

    // Acknowledged after the commit and deleted: nothing pending, nothing left in the streams.
    awaitValue("stream backlog", 0, WAIT, fx::backlog);
    assertEquals(0, fx.pending());
    assertEquals(301, writer.metrics().rowsWritten());
    awaitValue("queue length metric", 0, WAIT, () -> writer.metrics().queueLength());

    // Flush by time: a lone event is written promptly, not held back for a full batch.
    long t0 = System.nanoTime();
    fx.xadd(List.of(UsageFixture.event("lone", orgB, 1)));
    awaitValue("usage rows", 302, WAIT, this::usageRows);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < 2_000, "a single event waited " + ms + " ms");
  }

  @Test
  @DisplayName("replaying events (XADD again, also twice within one batch) writes nothing new")
  void replayIsIdempotent() {
    long org = fx.createOrg("replay");
    List<UsageRecord> events = UsageFixture.events("replay", List.of(org), 200);
    long total = events.stream().mapToLong(UsageRecord::costMicros).sum();
    fx.xadd(events);
    UsageWriter writer = fx.deploy("w1", UsageWriterSettings.defaults());
    awaitValue("usage rows", 200, WAIT, this::usageRows);
    awaitValue("stream backlog", 0, WAIT, fx::backlog);

    List<UsageRecord> replay = new ArrayList<>(events);
    replay.addAll(events.subList(0, 50)); // the same request ids a third time, in the same read
    fx.xadd(replay);
    awaitValue("stream backlog", 0, WAIT, fx::backlog);
    assertEquals(0, fx.pending());
    UsageFixture.sleep(200);

    assertEquals(200, usageRows());
    assertEquals(200, fx.count("SELECT count(DISTINCT request_id) FROM usage"));
    assertEquals(fx.paidDays(org), fx.count("SELECT count(*) FROM credit_ledger WHERE org_id = $1", org));
    assertEquals(List.of(), fx.texts(UsageDebits.MISMATCHED));
    assertEquals(-total, fx.count("SELECT sum(amount_micros) FROM credit_ledger WHERE org_id = $1", org));
    assertEquals(200, writer.metrics().rowsWritten());
    assertEquals(250, writer.metrics().duplicates(), "every replayed entry was recognised as a duplicate");
  }

  @Test
  @DisplayName("5,000 events are written in batches: far fewer transactions than rows, none above the batch size")
  void writesInBatches() {
    List<Long> orgs = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      orgs.add(fx.createOrg("batch"));
    }
    List<UsageRecord> events = UsageFixture.events("batch", orgs, 5_000);
    fx.xadd(events);
    UsageWriter writer = fx.deploy("w1", UsageWriterSettings.defaults().withBatchSize(500));
    awaitValue("usage rows", 5_000, WAIT, this::usageRows);
    // The rows are visible as soon as the last batch commits, a moment before its metrics are counted.
    awaitValue("rows counted", 5_000, WAIT, () -> writer.metrics().rowsWritten());

    long batches = writer.metrics().batches();
    System.out.printf("5,000 events written in %d transactions%n", batches);
    assertTrue(batches >= 10, "at most 500 events per transaction: " + batches);
    assertTrue(batches <= 40, "events are batched, not written one by one: " + batches + " transactions");
    assertEquals(batches, writer.metrics().batchLatency().count());
    assertEquals(5_000, writer.metrics().rowsWritten());
    assertEquals(5_000, fx.count("SELECT count(*) FROM usage_requests"));
    assertEquals(List.of(), fx.texts(UsageDebits.MISMATCHED));
  }

  @Test
  @DisplayName("a writer restarted under the same name writes what it had read but not acknowledged, at once")
  void ownPendingEntriesAreReadAtStart() {
    long org = fx.createOrg("pending");
    fx.xadd(UsageFixture.events("pending", List.of(org), 40));
    int shard = UsageStreams.shardOf(org);
    String key = UsageStreams.key(shard);
    // The previous life of "w1": created the group, read everything, died before writing.
    fx.redis.send(Request.cmd(Command.XGROUP).arg("CREATE").arg(key).arg(UsageStreams.GROUP).arg("0")).await();
    fx.redis.send(Request.cmd(Command.XREADGROUP).arg("GROUP").arg(UsageStreams.GROUP).arg("w1")
        .arg("COUNT").arg(1000).arg("STREAMS").arg(key).arg(">")).await();
    assertEquals(40, fx.pending());

    fx.deploy("w1", UsageWriterSettings.defaults()); // claim-idle is 30 s: only its own pending read can do this
    awaitValue("usage rows", 40, Duration.ofSeconds(5), this::usageRows);
    awaitValue("pending entries", 0, WAIT, fx::pending);
  }

  @Test
  @DisplayName("entries abandoned by a dead writer are taken over after the idle time and written once")
  void abandonedEntriesAreTakenOver() {
    long org = fx.createOrg("abandoned");
    fx.xadd(UsageFixture.events("abandoned", List.of(org), 60));
    String key = UsageStreams.keyForOrg(org);
    fx.redis.send(Request.cmd(Command.XGROUP).arg("CREATE").arg(key).arg(UsageStreams.GROUP).arg("0")).await();
    fx.redis.send(Request.cmd(Command.XREADGROUP).arg("GROUP").arg(UsageStreams.GROUP).arg("dead-pod")
        .arg("COUNT").arg(1000).arg("STREAMS").arg(key).arg(">")).await();
    fx.xadd(UsageFixture.events("fresh", List.of(org), 10));

    UsageWriter writer = fx.deploy("w2", UsageWriterSettings.defaults().withClaim(1_000, 300));
    awaitValue("fresh rows first", 10, Duration.ofSeconds(5), this::usageRows);
    awaitValue("usage rows", 70, Duration.ofSeconds(10), this::usageRows);
    awaitValue("pending entries", 0, WAIT, fx::pending);
    assertEquals(70, fx.count("SELECT count(DISTINCT request_id) FROM usage"));
    assertEquals(70, writer.metrics().rowsWritten());
  }

  @Test
  @DisplayName("entries that can never be stored go to usage_rejects and do not block the others")
  void unstorableEntriesAreSetAside() {
    long org = fx.createOrg("rejects");
    int shard = UsageStreams.shardOf(org);
    fx.xadd(UsageFixture.events("good", List.of(org), 30));
    Map<String, String> noOrg = new HashMap<>(UsageFixture.event("no-org", org, 1).toFields());
    noOrg.remove(UsageStreams.ORG_ID);
    fx.xaddRaw(shard, noOrg);
    fx.xaddRaw(shard, UsageFixture.event("unknown-org", 987_654_321L, 2).toFields());
    Map<String, String> badCost = new HashMap<>(UsageFixture.event("bad-cost", org, 3).toFields());
    String[] usage = badCost.get(UsageStreams.USAGE).split(",", -1);
    usage[UsageStreams.PACKED_FIELDS.indexOf(UsageStreams.COST_MICROS)] = "1.5";
    badCost.put(UsageStreams.USAGE, String.join(",", usage));
    fx.xaddRaw(shard, badCost);
    fx.xadd(UsageFixture.events("good-after", List.of(org), 30));

    UsageWriter writer = fx.deploy("w1", UsageWriterSettings.defaults());
    awaitValue("usage rows", 60, WAIT, this::usageRows);
    awaitValue("rejects", 3, WAIT, () -> fx.count("SELECT count(*) FROM usage_rejects"));
    awaitValue("stream backlog", 0, WAIT, fx::backlog);
    assertEquals(0, fx.pending());
    assertEquals(1, fx.count("SELECT count(*) FROM usage_rejects WHERE fields->>'request_id' = 'unknown-org'"
        + " AND error LIKE '%foreign key%'"));
    assertEquals(1, fx.count("SELECT count(*) FROM usage_rejects WHERE error LIKE 'org_id is missing%'"));
    assertEquals(0, fx.count("SELECT count(*) FROM usage_requests WHERE request_id = 'unknown-org'"));
    assertEquals(3, writer.metrics().rejected());
  }

  @Test
  @DisplayName("entries acknowledged but never deleted (XDEL lost) are trimmed by the housekeeping")
  void acknowledgedLeftoversAreTrimmed() {
    long org = fx.createOrg("trim");
    String key = UsageStreams.keyForOrg(org);
    fx.xadd(UsageFixture.events("trim", List.of(org), 25));
    fx.redis.send(Request.cmd(Command.XGROUP).arg("CREATE").arg(key).arg(UsageStreams.GROUP).arg("0")).await();
    Response read = fx.redis.send(Request.cmd(Command.XREADGROUP).arg("GROUP").arg(UsageStreams.GROUP).arg("old")
        .arg("COUNT").arg(1000).arg("STREAMS").arg(key).arg(">")).await();
    Request ack = Request.cmd(Command.XACK).arg(key).arg(UsageStreams.GROUP);
    for (StreamReplies.Entry e : StreamReplies.readGroup(read, UsageStreams.shardOf(org), key)) {
      ack.arg(e.id());
    }
    assertEquals(25, fx.redis.send(ack).await().toInteger());
    assertEquals(25, fx.backlog());

    fx.xadd(UsageFixture.events("trim-new", List.of(org), 5));
    fx.deploy("w1", UsageWriterSettings.defaults().withClaim(30_000, 200));
    awaitValue("usage rows", 5, WAIT, this::usageRows);
    awaitValue("stream backlog", 0, WAIT, fx::backlog);
    assertEquals(5, usageRows(), "acknowledged entries are never written again");
  }

  @Test
  @DisplayName("two writers share the streams and together write each event exactly once")
  void twoWritersShareTheWork() {
    List<Long> orgs = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      orgs.add(fx.createOrg("shared"));
    }
    UsageWriterSettings settings = UsageWriterSettings.defaults().withBatchSize(100).withFlushIntervalMs(10);
    UsageWriter w1 = fx.deploy("writer-1", settings);
    // The second one as a worker verticle, the way to keep its CPU work off the gateway's event loops.
    UsageWriter w2 = fx.deploy(fx.pool, "writer-2", settings,
        new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER));
    List<UsageRecord> events = UsageFixture.events("shared", orgs, 8_000);
    for (int i = 0; i < events.size(); i += 400) {
      fx.xadd(events.subList(i, i + 400));
      UsageFixture.sleep(15);
    }
    awaitValue("usage rows", 8_000, WAIT, this::usageRows);
    awaitValue("pending entries", 0, WAIT, fx::pending);
    UsageFixture.sleep(200);

    long a = w1.metrics().rowsWritten();
    long b = w2.metrics().rowsWritten();
    System.out.printf("writer-1 wrote %d rows, writer-2 wrote %d rows%n", a, b);
    assertTrue(a > 0 && b > 0, "both writers took part: " + a + " / " + b);
    assertEquals(8_000, a + b, "no event was written by both");
    assertEquals(8_000, usageRows());
    assertEquals(8_000, fx.count("SELECT count(DISTINCT request_id) FROM usage"));
    assertEquals(List.of(), fx.texts(UsageDebits.MISMATCHED));
    assertEquals(-events.stream().mapToLong(UsageRecord::costMicros).sum(),
        fx.count("SELECT sum(amount_micros) FROM credit_ledger"));
    // Each acknowledgement trims its stream below the oldest entry still pending, the other writer's included,
    // and deletes its own entries above that one by id: nothing written stays behind.
    assertEquals(0, fx.backlog(), "entries left in the streams");
  }

  @Test
  @DisplayName("a hot balance loaded from PostgreSQL subtracts usage still queued in Redis, each event once")
  void balanceNetOfQueuedUsage() {
    long org = fx.createOrg("hot-balance");
    long other = fx.createOrg("hot-balance-other");
    Ledger ledger = new Ledger(fx.pool);
    ledger.credit(org, 10_000_000, "prepaid", "hb-" + org).await();
    List<UsageRecord> written = UsageFixture.events("hb-written", List.of(org), 10);
    fx.xadd(written);
    fx.deploy("w1", UsageWriterSettings.defaults());
    awaitValue("usage rows", 10, WAIT, this::usageRows);
    fx.undeployAll();

    List<UsageRecord> queued = UsageFixture.events("hb-queued", List.of(org), 5);
    fx.xadd(queued);
    fx.xadd(written.subList(0, 2)); // already in the ledger (an XDEL that was lost): not subtracted again
    fx.xadd(UsageFixture.events("hb-other", List.of(other), 3)); // another org, maybe the same shard
    long writtenCost = written.stream().mapToLong(UsageRecord::costMicros).sum();
    long queuedCost = queued.stream().mapToLong(UsageRecord::costMicros).sum();

    QueuedUsageBalance balances = new QueuedUsageBalance(ledger, fx.redis);
    assertEquals(7, balances.queuedCosts(org).await().size());
    assertEquals(10_000_000 - writtenCost, ledger.balance(org).await());
    assertEquals(10_000_000 - writtenCost - queuedCost, balances.load(org).await());

    fx.deploy("w1", UsageWriterSettings.defaults());
    awaitValue("stream backlog", 0, WAIT, fx::backlog);
    assertEquals(10_000_000 - writtenCost - queuedCost, ledger.balance(org).await(), "the same once written");
    assertEquals(10_000_000 - writtenCost - queuedCost, balances.load(org).await());
  }

  @Test
  @DisplayName("stopping a writer stops it reading: events queued afterwards wait in Redis")
  void stopStopsReading() {
    long org = fx.createOrg("stop");
    fx.deploy("w1", UsageWriterSettings.defaults());
    fx.xadd(UsageFixture.events("before-stop", List.of(org), 10));
    awaitValue("usage rows", 10, WAIT, this::usageRows);
    fx.undeployAll();
    fx.xadd(UsageFixture.events("after-stop", List.of(org), 10));
    UsageFixture.sleep(300);
    assertEquals(10, usageRows());
    assertEquals(10, fx.backlog());
    assertFalse(fx.backlog() == 0);
    fx.deploy("w1", UsageWriterSettings.defaults());
    awaitValue("usage rows", 20, WAIT, this::usageRows);
  }
}
