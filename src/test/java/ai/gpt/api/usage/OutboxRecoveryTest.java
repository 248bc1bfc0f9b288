package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageFixture.awaitValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.billing.Ledger;
import ai.gpt.api.limits.Bucket;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.limits.RedisScript;
import ai.gpt.api.limits.Settlement;
import ai.gpt.api.testing.UsageQueues;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The outbox: an event the settlement script appended to its organization's outbox but whose copy never reached the
 * shard stream (the gateway died between the two, or Redis refused the copy) is copied by the usage writer's outbox
 * recovery and written exactly once; a balance loaded meanwhile subtracts every settled event exactly once.
 */
@ExtendWith(VertxExtension.class)
class OutboxRecoveryTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final long CREDIT = 10_000_000;
  private static final long GRACE_MS = 1_000;

  private UsageFixture fx;
  private RedisScript settle;
  private long org;

  @BeforeEach
  void setUp(Vertx vertx) {
    fx = UsageFixture.clean(vertx);
    settle = RedisScript.load(vertx, fx.redis, Settlement.SCRIPT).await();
    org = fx.createOrg("outbox");
    new Ledger(fx.pool).credit(org, CREDIT, "prepaid", "outbox-credit-" + org).await();
  }

  @AfterEach
  void tearDown() {
    fx.close();
  }

  @Test
  @DisplayName("events whose copy to the usage stream never happened reach PostgreSQL exactly once via the outbox "
      + "sweep; the reloaded balance is exact before, during and after")
  void uncopiedEventsAreRecovered() {
    Ledger ledger = new Ledger(fx.pool);
    QueuedUsageBalance balances = new QueuedUsageBalance(ledger, fx.redis);
    long total = 0;
    List<String> ids = new ArrayList<>();
    // Three settlements whose gateway died before the copy: only in the outbox.
    for (int i = 0; i < 3; i++) {
      ids.add("lost-" + org + "-" + i);
      total += settled(ids.get(i), 1_000 + i, false);
    }
    // Two copied as the gateway copies them: in the outbox and in the shard stream.
    for (int i = 0; i < 2; i++) {
      ids.add("copied-" + org + "-" + i);
      total += settled(ids.get(3 + i), 2_000 + i, true);
    }
    assertEquals(5, UsageQueues.outboxed(fx.redis));
    assertEquals(2, fx.backlog());
    assertEquals(5, balances.queuedCosts(org).await().size(), "each settled event once, wherever its copies are");
    assertEquals(CREDIT, ledger.balance(org).await());
    assertEquals(CREDIT - total, balances.load(org).await(), "nothing spendable twice before the writer runs");

    UsageWriter writer = fx.deploy("w1", UsageWriterSettings.defaults().withOutbox(GRACE_MS, 300));
    awaitValue("usage rows of the copied events", 2, WAIT, this::usageRows);
    // Meanwhile (the lost ones are still too young to copy) the balance is still exact.
    assertEquals(CREDIT - total, balances.load(org).await(), "exact while part of the events are written");
    awaitValue("usage rows of every event", 5, WAIT, this::usageRows);
    awaitValue("events left in the outboxes", 0, WAIT, () -> UsageQueues.outboxed(fx.redis));
    awaitValue("stream backlog", 0, WAIT, fx::backlog);

    for (String id : ids) {
      assertEquals(1, fx.count("SELECT count(*) FROM usage WHERE request_id = $1", id), "usage rows of " + id);
    }
    assertEquals(CREDIT - total, ledger.balance(org).await(), "ledger = credit - every event's cost, once");
    assertEquals(CREDIT - total, balances.load(org).await(), "and the reloaded balance with it");
    assertTrue(writer.metrics().recovered() >= 3, "the three lost events were copied: " + writer.metrics().recovered());
    assertTrue(writer.metrics().lastSweepPassAt() > 0, "the sweep's completed pass is stamped for the alert");
    assertEquals(0, fx.count("SELECT count(*) FROM usage_rejects"));
    assertEquals(0, exists(RedisKeys.outbox(org)), "an emptied outbox is deleted");
  }

  @Test
  @DisplayName("an outbox entry whose event is already in PostgreSQL (its delete was lost) is copied, written as a "
      + "duplicate, and deleted, without a second charge")
  void committedEventLeftInOutbox() {
    Ledger ledger = new Ledger(fx.pool);
    long cost = settled("done-" + org, 3_000, true);
    UsageWriter writer = fx.deploy("w1", UsageWriterSettings.defaults().withOutbox(GRACE_MS, 300));
    awaitValue("events left in the outboxes", 0, WAIT, () -> UsageQueues.outboxed(fx.redis));
    assertEquals(1, usageRows());

    // The same event again in the outbox, as if the writer's delete had been lost after the commit.
    Map<String, String> event = fields("done-" + org, 3_000);
    Request xadd = Request.cmd(Command.XADD).arg(RedisKeys.outbox(org)).arg("*");
    event.forEach((k, v) -> xadd.arg(k).arg(v));
    fx.redis.send(xadd).await();
    awaitValue("events left in the outboxes", 0, WAIT, () -> UsageQueues.outboxed(fx.redis));
    awaitValue("stream backlog", 0, WAIT, fx::backlog);
    assertEquals(1, usageRows(), "written once");
    assertEquals(CREDIT - cost, ledger.balance(org).await(), "charged once");
    assertTrue(writer.metrics().duplicates() >= 1, "the copy was seen as a duplicate");
  }

  @Test
  @DisplayName("recovery copies an old outbox entry only once the usage stream holds nothing as old: a writer that "
      + "is merely behind does not get it twice")
  void writerBehindGetsNoCopy(Vertx vertx) {
    WriterConnection connection = new WriterConnection(fx.redis, vertx.getOrCreateContext(), 5_000);
    OutboxRecovery recovery = new OutboxRecovery(connection, GRACE_MS, UsageWriterMetrics.standalone("test"));
    String stream = UsageStreams.keyForOrg(org);
    // An outbox entry of long ago, and a still older event waiting in the shard stream (its copy may be among those).
    Request outboxed = Request.cmd(Command.XADD).arg(RedisKeys.outbox(org)).arg("2000-0");
    fields("old-" + org, 10).forEach((k, v) -> outboxed.arg(k).arg(v));
    fx.redis.send(outboxed).await();
    Request waiting = Request.cmd(Command.XADD).arg(stream).arg("1500-0");
    fields("older-" + org, 20).forEach((k, v) -> waiting.arg(k).arg(v));
    fx.redis.send(waiting).await();

    assertTrue(recovery.recover(org).await() > 0, "looked at again later");
    assertEquals(1, fx.backlog(), "not copied while the stream holds an event as old");

    fx.redis.send(Request.cmd(Command.XDEL).arg(stream).arg("1500-0")).await(); // the writer caught up
    assertEquals(0L, recovery.recover(org).await(), "nothing left to judge");
    Response copies = fx.redis.send(Request.cmd(Command.XRANGE).arg(stream).arg("-").arg("+")).await();
    assertEquals(1, copies.size());
    List<String> flat = new ArrayList<>();
    copies.get(0).get(1).forEach(r -> flat.add(r.toString()));
    assertEquals(List.of("outbox_id", "2000-0"), flat.subList(flat.size() - 2, flat.size()), "with its outbox id");
    assertEquals("old-" + org, flat.get(1));
    connection.close();
  }

  /**
   * Runs settle_v8.lua for one request without a reservation (as after an expired one), and copies the event to the
   * shard stream if {@code copy}, as the gateway does; returns its cost.
   */
  private long settled(String requestId, long cost, boolean copy) {
    List<String> keys = new ArrayList<>(Settlement.headerKeys(org));
    keys.addAll(Settlement.requestKeys(org, 1, requestId));
    // settle_v8.lua's ARGV: the header's org id and marker TTL; the request's id, key id, prompt and completion
    // tokens, cost, the usage value, and whether it was admitted from an allotment.
    List<String> args = List.of(Long.toString(org), "86400000", requestId, "1", "10", "20", Long.toString(cost),
        fields(requestId, cost).get(UsageStreams.USAGE), "0");
    // "S,<balance after>,<balance present>,<reservation found>,<outbox entry id>,<ts_ms>"
    String[] reply = settle.call(keys, args).await().get(0).toString().split(",");
    assertEquals("S", reply[0]);
    if (copy) {
      Request xadd = Request.cmd(Command.XADD).arg(UsageStreams.keyForOrg(org)).arg("*");
      Map<String, String> event = fields(requestId, cost);
      event.put(UsageStreams.TS_MS, reply[5]);
      event.forEach((k, v) -> xadd.arg(k).arg(v));
      xadd.arg(UsageStreams.OUTBOX_ID).arg(reply[4]);
      fx.redis.send(xadd).await();
    }
    return cost;
  }

  /** An event's fields, as settle_v8.lua writes them. */
  private Map<String, String> fields(String requestId, long cost) {
    return new UsageRecord(requestId, org, 1L, "gpt-fast", 7L, "/v1/chat/completions", 10, 20, 0, cost, 200, false,
        100, 10, System.currentTimeMillis()).toFields();
  }

  private long usageRows() {
    return fx.count("SELECT count(*) FROM usage WHERE org_id = $1", org);
  }

  private long exists(String key) {
    return fx.redis.send(Request.cmd(Command.EXISTS).arg(key)).await().toLong();
  }
}
