package ai.gpt.api.usage;

import static ai.gpt.api.usage.ContextFutures.onContext;

import ai.gpt.api.limits.RedisKeys;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the organizations' outboxes and has {@link OutboxRecovery} look at each: a pass SCANs every master
 * ({@code MATCH gptapi:{o*}:outbox TYPE stream}; an outbox exists only while it holds events not yet in PostgreSQL)
 * at start and then every {@code outboxSweepIntervalMs}. One replica sweeps per interval: a pass starts only with the
 * lock {@value #LOCK} (set for one interval, taken over by a replica of the same name after a restart), so the cost
 * does not grow with the replicas. Work is bounded per tick (at most {@value #SCAN_STEPS} SCAN steps of
 * {@value #SCAN_COUNT} keys, 0.1–0.5 ms of Redis each, one after the other, and {@value #ORGS_PER_TICK} outboxes): SCAN visits every key
 * (the settled markers dominate), so a pass over N keys takes about N / 10,000 seconds (an hour's markers at 1,000
 * requests/s, 3.6 M keys: six minutes, so passes then run back to back) and costs Redis under 2 % of a core while
 * it runs (the bench measured 6 % with 25 steps a tick). Only events a killed gateway's writer had not stored yet (handed to it in memory, {@link UsageHandoff}), or
 * whose copy it cut (or more than a live gateway keeps for its own retries, {@code ShardForwarder}), wait for a pass. An outbox whose entries are too young to judge is looked at again once they
 * are old enough (at most {@value #MAX_RECHECKS} such organizations are remembered; others wait for the next pass).
 *
 * <p>Confined to the usage writer's context: {@link #tick} is called from its timer and never runs twice at once.
 */
final class OutboxSweep {
  private static final Logger LOG = LoggerFactory.getLogger(UsageWriter.class);
  static final String LOCK = "gptapi:outbox-sweep";
  // Many small steps rather than a few big ones: Redis runs one command at a time, and a 2,000-key step (1–3.5 ms)
  // held every request that arrived meanwhile for as long, the 99th percentile of one client's latency.
  static final int SCAN_COUNT = 250;
  static final int SCAN_STEPS = 40;
  static final int ORGS_PER_TICK = 64;
  static final int MAX_RECHECKS = 10_000;

  private final Context context;
  private final WriterConnection redis;
  private final String consumer;
  private final RedisMasters masters;
  private final OutboxRecovery recovery;
  private final long passIntervalMs;
  private final long scanTimeoutMs;
  private final UsageWriterMetrics metrics;

  private final ArrayDeque<Long> found = new ArrayDeque<>();
  private final Map<Long, Long> recheckAt = new HashMap<>();
  private List<Redis> nodes;
  private int node;
  private String cursor;
  private long nextPassAt;
  private boolean busy;

  /**
   * @param scanTimeoutMs the longest a SCAN step may take: it runs on the gateway's pooled clients, not on the
   *                      writer's connection (whose commands are bounded), and a step that never completes would
   *                      leave {@link #tick} busy, so no pass would ever run again
   */
  OutboxSweep(Context context, WriterConnection redis, String consumer, RedisMasters masters, OutboxRecovery recovery,
      long passIntervalMs, long scanTimeoutMs, UsageWriterMetrics metrics) {
    this.context = context;
    this.redis = redis;
    this.consumer = consumer;
    this.masters = masters;
    this.recovery = recovery;
    this.passIntervalMs = passIntervalMs;
    this.scanTimeoutMs = scanTimeoutMs;
    this.metrics = metrics;
  }

  /** One bounded step: a SCAN step if a pass is due or under way, then recovery of what it and the rechecks found. */
  void tick() {
    if (busy) {
      return;
    }
    busy = true;
    // A failed step of the pass (the lock, or a SCAN: retried next tick) does not hold back the outboxes already
    // found or due for a recheck.
    scan(SCAN_STEPS).recover(e -> {
      LOG.debug("Outbox sweep pass step failed (retried next tick): {}", e.toString());
      return Future.succeededFuture();
    }).compose(v -> recoverSome()).onComplete(ar -> busy = false);
  }

  /** Up to {@code steps} SCAN steps, fewer once enough outboxes wait for recovery. */
  private Future<Void> scan(int steps) {
    if (steps == 0 || found.size() >= ORGS_PER_TICK) {
      return Future.succeededFuture();
    }
    return scanStep().compose(more -> more ? scan(steps - 1) : Future.succeededFuture());
  }

  /** One SCAN step (or the start of a pass); completes with whether the pass goes on. */
  private Future<Boolean> scanStep() {
    if (nodes == null) {
      if (System.currentTimeMillis() < nextPassAt) {
        return Future.succeededFuture(false);
      }
      nextPassAt = System.currentTimeMillis() + passIntervalMs;
      return lock().compose(mine -> !mine ? Future.succeededFuture(false)
          : onContext(context, masters.masters()).map(list -> {
            nodes = list;
            node = 0;
            cursor = "0";
            return true;
          }));
    }
    if (node >= nodes.size()) {
      nodes = null;
      return Future.succeededFuture(false);
    }
    Request scan = Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(RedisKeys.OUTBOX_PATTERN)
        .arg("COUNT").arg(SCAN_COUNT).arg("TYPE").arg("stream");
    return onContext(context, nodes.get(node).send(scan).timeout(scanTimeoutMs, TimeUnit.MILLISECONDS)).map(reply -> {
      cursor = reply.get(0).toString();
      for (Response key : reply.get(1)) {
        long org = RedisKeys.orgOfOutbox(key.toString());
        if (org >= 0) {
          found.add(org);
        }
      }
      if ("0".equals(cursor)) {
        node++;
        if (node >= nodes.size()) {
          // Every outbox of the pass is found (the last ones are looked at within a few ticks).
          nodes = null;
          metrics.sweepPassCompleted();
          return false;
        }
      }
      return true;
    });
  }

  /**
   * Whether this replica sweeps this interval: it set the lock, or the lock carries its own name (a restart of the
   * same replica, which then need not wait out its dead predecessor's interval).
   */
  private Future<Boolean> lock() {
    Request take = Request.cmd(Command.SET).arg(LOCK).arg(consumer).arg("NX").arg("PX").arg(passIntervalMs);
    return redis.send(take).compose(taken -> {
      if (taken != null) {
        return Future.succeededFuture(true);
      }
      return redis.send(Request.cmd(Command.GET).arg(LOCK)).compose(holder -> {
        if (holder == null || !consumer.equals(holder.toString())) {
          return Future.succeededFuture(false);
        }
        return redis.send(Request.cmd(Command.SET).arg(LOCK).arg(consumer).arg("PX").arg(passIntervalMs))
            .map(v -> true);
      });
    });
  }

  private Future<Void> recoverSome() {
    Future<Void> chain = Future.succeededFuture();
    long now = System.currentTimeMillis();
    int budget = ORGS_PER_TICK;
    for (Iterator<Map.Entry<Long, Long>> it = recheckAt.entrySet().iterator(); it.hasNext() && budget > 0; ) {
      Map.Entry<Long, Long> due = it.next();
      if (due.getValue() <= now) {
        it.remove();
        long org = due.getKey();
        budget--;
        chain = chain.compose(v -> look(org));
      }
    }
    while (budget-- > 0 && !found.isEmpty()) {
      long org = found.poll();
      chain = chain.compose(v -> look(org));
    }
    return chain;
  }

  /** Recovery of one organization; a failure is logged and does not stop the others of the tick. */
  private Future<Void> look(long org) {
    return onContext(context, recovery.recover(org)).<Void>map(again -> {
      if (again > 0 && recheckAt.size() < MAX_RECHECKS) {
        recheckAt.putIfAbsent(org, again);
      }
      return null;
    }).recover(e -> {
      LOG.debug("Outbox recovery of org {} failed (retried on the next pass): {}", org, e.toString());
      return Future.succeededFuture();
    });
  }
}
