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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the organizations' outboxes and has {@link OutboxRecovery} look at each: a pass SCANs every master
 * ({@code MATCH gptapi:{o*}:outbox TYPE stream}; an outbox exists only while it holds events not yet in PostgreSQL)
 * at start and then every {@code outboxSweepIntervalMs}. Work is bounded per tick (one SCAN step of
 * {@value #SCAN_COUNT} keys, at most {@value #ORGS_PER_TICK} outboxes), so a large keyspace takes several ticks
 * rather than one long burst. An outbox whose entries are too young to judge is looked at again once they are old
 * enough (at most {@value #MAX_RECHECKS} such organizations are remembered; others wait for the next pass).
 *
 * <p>Confined to the usage writer's context: {@link #tick} is called from its timer and never runs twice at once.
 */
final class OutboxSweep {
  private static final Logger LOG = LoggerFactory.getLogger(UsageWriter.class);
  static final int SCAN_COUNT = 1_000;
  static final int ORGS_PER_TICK = 64;
  static final int MAX_RECHECKS = 10_000;

  private final Context context;
  private final RedisMasters masters;
  private final OutboxRecovery recovery;
  private final long passIntervalMs;

  private final ArrayDeque<Long> found = new ArrayDeque<>();
  private final Map<Long, Long> recheckAt = new HashMap<>();
  private List<Redis> nodes;
  private int node;
  private String cursor;
  private long nextPassAt;
  private boolean busy;

  OutboxSweep(Context context, RedisMasters masters, OutboxRecovery recovery, long passIntervalMs) {
    this.context = context;
    this.masters = masters;
    this.recovery = recovery;
    this.passIntervalMs = passIntervalMs;
  }

  /** One bounded step: a SCAN step if a pass is due or under way, then recovery of what it and the rechecks found. */
  void tick() {
    if (busy) {
      return;
    }
    busy = true;
    scanStep().compose(v -> recoverSome()).onComplete(ar -> {
      busy = false;
      if (ar.failed()) {
        LOG.debug("Outbox sweep step failed (retried next tick): {}", ar.cause().toString());
      }
    });
  }

  private Future<Void> scanStep() {
    if (found.size() >= ORGS_PER_TICK) {
      return Future.succeededFuture();
    }
    if (nodes == null) {
      if (System.currentTimeMillis() < nextPassAt) {
        return Future.succeededFuture();
      }
      return onContext(context, masters.masters()).map(list -> {
        nodes = list;
        node = 0;
        cursor = "0";
        return null;
      });
    }
    if (node >= nodes.size()) {
      endPass();
      return Future.succeededFuture();
    }
    Request scan = Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(RedisKeys.OUTBOX_PATTERN)
        .arg("COUNT").arg(SCAN_COUNT).arg("TYPE").arg("stream");
    return onContext(context, nodes.get(node).send(scan)).map(reply -> {
      cursor = reply.get(0).toString();
      for (Response key : reply.get(1)) {
        long org = RedisKeys.orgOfOutbox(key.toString());
        if (org >= 0) {
          found.add(org);
        }
      }
      if ("0".equals(cursor)) {
        node++;
        cursor = "0";
        if (node >= nodes.size()) {
          endPass();
        }
      }
      return null;
    });
  }

  private void endPass() {
    nodes = null;
    nextPassAt = System.currentTimeMillis() + passIntervalMs;
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
        chain = chain.compose(v -> look(org, false));
      }
    }
    while (budget-- > 0 && !found.isEmpty()) {
      long org = found.poll();
      chain = chain.compose(v -> look(org, true));
    }
    return chain;
  }

  /** Recovery of one organization; a failure is logged and does not stop the others of the tick. */
  private Future<Void> look(long org, boolean fromScan) {
    return onContext(context, recovery.recover(org)).<Void>map(again -> {
      // A recheck leads to a further one only while full pages wait: else the next pass finds the outbox again.
      if (again > 0 && (fromScan || again <= System.currentTimeMillis()) && recheckAt.size() < MAX_RECHECKS) {
        recheckAt.putIfAbsent(org, again);
      }
      return null;
    }).recover(e -> {
      LOG.debug("Outbox recovery of org {} failed (retried on the next pass): {}", org, e.toString());
      return Future.succeededFuture();
    });
  }
}
