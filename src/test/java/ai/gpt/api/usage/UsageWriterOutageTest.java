package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageFixture.awaitValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.db.Database;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.TcpProxy;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.testing.UsageQueues;
import ai.gpt.api.testing.UsageDebits;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Pool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** PostgreSQL unreachable during load, through a TCP proxy between the writer's pool and the server. */
@ExtendWith(VertxExtension.class)
class UsageWriterOutageTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private UsageFixture fx;
  private TcpProxy proxy;
  private Pool writerPool;

  @BeforeEach
  void setUp(Vertx vertx) {
    fx = UsageFixture.clean(vertx);
    PgConnectOptions pg = Database.connectOptions(TestServices.DATABASE_URL);
    proxy = TcpProxy.start(vertx, pg.getHost(), pg.getPort()).await();
    writerPool = fx.poolVia(proxy.port(), 4);
  }

  @AfterEach
  void tearDown() {
    fx.undeployAll();
    writerPool.close().await();
    proxy.close().await();
    fx.close();
  }

  private long usageRows() {
    return fx.count("SELECT count(*) FROM usage");
  }

  private List<UsageRecord> load(List<Long> orgs) {
    List<UsageRecord> all = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      all.addAll(UsageFixture.events("outage-" + i, orgs, 2_000));
    }
    return all;
  }

  private void assertExactlyOnce(List<UsageRecord> events) {
    long total = events.stream().mapToLong(UsageRecord::costMicros).sum();
    assertEquals(events.size(), usageRows(), "none lost");
    assertEquals(events.size(), fx.count("SELECT count(DISTINCT request_id) FROM usage"), "none duplicated");
    assertEquals(events.size(), fx.count("SELECT count(*) FROM usage_requests"), "every id guarded");
    assertEquals(total, fx.count("SELECT sum(cost_micros) FROM usage"));
    assertEquals(-total, fx.count("SELECT sum(amount_micros) FROM credit_ledger"));
    assertEquals(List.of(), fx.texts(UsageDebits.MISMATCHED), "each day's debit is that day's usage cost");
  }

  @Test
  @DisplayName("PostgreSQL cut off during load: events wait in Redis and are all written once it returns")
  void connectionsCut() {
    List<Long> orgs = List.of(fx.createOrg("outage-a"), fx.createOrg("outage-b"), fx.createOrg("outage-c"));
    List<UsageRecord> events = load(orgs);
    UsageWriter writer = fx.deploy(writerPool, "w1",
        UsageWriterSettings.defaults().withMaxBackoffMs(400).withWriteTimeoutMs(2_000));

    feed(events.subList(0, 2_000));
    awaitValue("rows before the outage", 2_000, WAIT, this::usageRows);

    proxy.cut();
    feed(events.subList(2_000, 4_000));
    UsageFixture.sleep(1_500);
    assertEquals(2_000, usageRows(), "nothing can be written while PostgreSQL is unreachable");
    assertEquals(2_000, fx.backlog(), "the events wait in the streams");
    assertTrue(writer.metrics().failures() > 0, "the writer noticed the outage");
    awaitValue("queue length metric", 2_000, WAIT, () -> writer.metrics().queueLength());
    assertTrue(writer.metrics().lagMillis() > 1_000, "writer lag metric: " + writer.metrics().lagMillis());

    proxy.restore();
    feed(events.subList(4_000, 6_000));
    awaitValue("usage rows", 6_000, WAIT, this::usageRows);
    awaitValue("stream backlog", 0, WAIT, fx::backlog);
    assertEquals(0, fx.pending());
    UsageFixture.sleep(300);
    assertExactlyOnce(events);
    awaitValue("queue length metric", 0, WAIT, () -> writer.metrics().queueLength());
    awaitValue("writer lag metric", 0, WAIT, () -> writer.metrics().lagMillis());
  }

  @Test
  @DisplayName("Redis unreachable from the writer for a while: it retries, then writes everything exactly once")
  void redisCut(Vertx vertx) {
    List<Long> orgs = List.of(fx.createOrg("redis-a"), fx.createOrg("redis-b"));
    List<UsageRecord> events = load(orgs);
    TcpProxy redisProxy = TcpProxy.start(vertx, "127.0.0.1", 6379).await();
    String db = TestServices.REDIS_URL.substring(TestServices.REDIS_URL.lastIndexOf('/'));
    Redis viaProxy = Redis.createClient(vertx, new RedisOptions()
        .setConnectionString("redis://127.0.0.1:" + redisProxy.port() + db));
    try {
      UsageWriter writer = new UsageWriter(fx.pool, viaProxy, "w1",
          UsageWriterSettings.defaults().withMaxBackoffMs(300));
      String id = vertx.deployVerticle(writer).await();
      feed(events.subList(0, 2_000));
      awaitValue("rows before the outage", 2_000, WAIT, this::usageRows);

      redisProxy.cut();
      feed(events.subList(2_000, 4_000)); // the gateway's own Redis connection still works
      UsageFixture.sleep(1_500);
      assertEquals(2_000, usageRows());
      assertTrue(writer.metrics().failures() > 0, "the writer noticed the outage");

      redisProxy.restore();
      feed(events.subList(4_000, 6_000));
      awaitValue("usage rows", 6_000, WAIT, this::usageRows);
      awaitValue("stream backlog", 0, WAIT, fx::backlog);
      assertEquals(0, fx.pending());
      assertExactlyOnce(events);
      vertx.undeploy(id).await();
    } finally {
      viaProxy.close().await();
      redisProxy.close().await();
    }
  }

  @Test
  @DisplayName("PostgreSQL hangs mid-batch (stalled network): timed-out batches are retried, nothing written twice")
  void connectionsStall() {
    List<Long> orgs = List.of(fx.createOrg("stall-a"), fx.createOrg("stall-b"));
    List<UsageRecord> events = load(orgs);
    UsageWriter writer = fx.deploy(writerPool, "w1",
        UsageWriterSettings.defaults().withMaxBackoffMs(300).withWriteTimeoutMs(700));

    feed(events.subList(0, 2_000));
    awaitValue("rows before the stall", 2_000, WAIT, this::usageRows);

    proxy.stall();
    feed(events.subList(2_000, 4_000));
    UsageFixture.sleep(2_500);
    assertTrue(writer.metrics().failures() > 0, "the writer timed out on the hung connection");
    assertTrue(usageRows() < 6_000);

    proxy.restore();
    feed(events.subList(4_000, 6_000));
    awaitValue("usage rows", 6_000, WAIT, this::usageRows);
    awaitValue("stream backlog", 0, WAIT, fx::backlog);
    UsageFixture.sleep(1_000); // let statements that were stuck in the proxy finish too
    assertExactlyOnce(events);
  }

  @Test
  @DisplayName("PostgreSQL hangs while events are handed to the writer in memory: it holds at most four batches, "
      + "the rest go through the streams, and all are written once, their outbox entries removed")
  void handedOffDuringOutage() {
    List<Long> orgs = List.of(fx.createOrg("handoff-a"), fx.createOrg("handoff-b"));
    List<UsageRecord> events = UsageFixture.events("handoff", orgs, 5_000);
    UsageWriterSettings settings = UsageWriterSettings.defaults().withMaxBackoffMs(300).withWriteTimeoutMs(700);
    UsageWriter writer = fx.deploy(writerPool, "w1", settings);
    assertEquals(0, hand(writer, events.subList(0, 1_000)), "a writer keeping up takes every event");
    awaitValue("rows before the outage", 1_000, WAIT, this::usageRows);

    // Hung, not refused: each attempt takes what waits in memory and holds it until its timeout, then puts it back.
    proxy.stall();
    int copied = 0;
    for (int i = 1_000; i < 5_000; i += 250) {
      copied += hand(writer, events.subList(i, i + 250));
      UsageFixture.sleep(150);
    }
    int held = 4_000 - copied;
    assertTrue(held <= UsageWriter.INBOX_BATCHES * settings.batchSize() + 8,
        "the writer holds at most " + UsageWriter.INBOX_BATCHES + " batches in memory, not " + held);
    assertTrue(writer.metrics().failures() > 0, "the writer timed out on the hung connection");
    assertEquals(1_000, usageRows(), "nothing can be written while PostgreSQL hangs");
    awaitValue("queue length metric: the streams and the events in memory", 4_000, WAIT,
        () -> writer.metrics().queueLength());

    proxy.restore();
    awaitValue("usage rows", 5_000, WAIT, this::usageRows);
    awaitValue("stream backlog", 0, WAIT, fx::backlog);
    awaitValue("outbox entries", 0, WAIT, () -> UsageQueues.outboxed(fx.redis));
    assertExactlyOnce(events);
    awaitValue("queue length metric", 0, WAIT, () -> writer.metrics().queueLength());
  }

  /**
   * What a gateway's settlement does with each event: appends it to its organization's outbox, hands it to the
   * writer, and copies it to its shard stream (with its outbox id) when the writer refuses it.
   *
   * @return how many were copied to the streams
   */
  private int hand(UsageWriter writer, List<UsageRecord> events) {
    List<Request> outbox = new ArrayList<>();
    for (UsageRecord r : events) {
      Request add = Request.cmd(Command.XADD).arg(RedisKeys.outbox(r.orgId())).arg("*");
      r.toFields().forEach((k, v) -> add.arg(k).arg(v));
      outbox.add(add);
    }
    List<Response> ids = fx.redis.batch(outbox).await();
    List<Request> copies = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      UsageRecord r = events.get(i);
      Map<String, String> fields = r.toFields();
      String outboxId = ids.get(i).toString();
      if (!writer.offer(r, r.toFields(), outboxId)) {
        Request copy = Request.cmd(Command.XADD).arg(UsageStreams.keyForOrg(r.orgId())).arg("*");
        fields.forEach((k, v) -> copy.arg(k).arg(v));
        copies.add(copy.arg(UsageStreams.OUTBOX_ID).arg(outboxId));
      }
    }
    if (!copies.isEmpty()) {
      fx.redis.batch(copies).await();
    }
    return copies.size();
  }

  /** XADDs in slices of 200 with short pauses, like a gateway under load. */
  private void feed(List<UsageRecord> events) {
    for (int i = 0; i < events.size(); i += 200) {
      fx.xadd(events.subList(i, Math.min(events.size(), i + 200)));
      UsageFixture.sleep(10);
    }
  }
}
