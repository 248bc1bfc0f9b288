package ai.gpt.api.usage;

import ai.gpt.api.billing.Ledger;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.usage.StreamReplies.Entry;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The balance a Redis hot balance must be loaded with: the ledger's balance minus the cost of the organization's
 * usage events charged in Redis but not yet written as ledger debits. Loading the bare ledger balance would let
 * those events be spent twice. Fits {@code ai.gpt.api.limits.BalanceLoader}:
 * {@code new QueuedUsageBalance(ledger, redis)::load}.
 *
 * <p>Those events are exactly the organization's outbox ({@link RedisKeys#outbox}): settlement appends each event
 * there atomically with the charge, and the writer deletes it only after the commit that wrote its debit. So
 * reading the outbox first and the ledger second misses nothing (an event gone from the outbox is in the ledger) and
 * subtracts nothing twice (the ledger query skips request ids it already has, see
 * {@link Ledger#balanceNetOfQueued}); where the event's copy in the shard stream is does not matter. The cost is
 * one read per 1,000 of the organization's own pending events.
 *
 * <p>Events settled before the outboxes existed (by settle_v3.lua, straight into the shard stream, without an
 * {@link UsageStreams#OUTBOX_ID}) are still subtracted while the writer drains them: they precede every event with
 * an outbox id in their stream (see lua/README.md, rolling deploy), so the shard stream is read only up to its
 * first entry that has one: one entry once they are gone.
 *
 * <p>An event settled after the outbox read is not subtracted, and settlement charges only a hot balance that
 * exists: such a load would store a balance that never counts that event. settle_v8.lua therefore bumps the
 * balance's generation whenever it settles with no hot balance, and the load is then not stored but read again
 * ({@code ai.gpt.api.limits.BalanceLoads}).
 */
public final class QueuedUsageBalance {
  private static final int PAGE = 1_000;

  private final Ledger ledger;
  private final Redis redis;

  public QueuedUsageBalance(Ledger ledger, Redis redis) {
    this.ledger = ledger;
    this.redis = redis;
  }

  public Future<Long> load(long orgId) {
    return queuedCosts(orgId).compose(queued -> ledger.balanceNetOfQueued(orgId, queued));
  }

  /** Request id → cost in micro-USD of the organization's events charged in Redis and not yet in PostgreSQL. */
  public Future<Map<String, Long>> queuedCosts(long orgId) {
    Map<String, Long> out = new HashMap<>();
    return outbox(orgId, "-", out).compose(v -> legacy(orgId, "-", out)).map(v -> out);
  }

  private Future<Void> outbox(long orgId, String from, Map<String, Long> out) {
    int shard = UsageStreams.shardOf(orgId);
    Request r = Request.cmd(Command.XRANGE).arg(RedisKeys.outbox(orgId)).arg(from).arg("+").arg("COUNT").arg(PAGE);
    return redis.send(r).compose(reply -> {
      List<Entry> entries = StreamReplies.entries(reply, shard);
      for (Entry e : entries) {
        add(e, out);
      }
      return entries.size() < PAGE ? Future.succeededFuture()
          : outbox(orgId, "(" + entries.get(entries.size() - 1).id(), out);
    });
  }

  /** The organization's entries at the head of its shard stream that carry no outbox id. */
  private Future<Void> legacy(long orgId, String from, Map<String, Long> out) {
    int shard = UsageStreams.shardOf(orgId);
    Request r = Request.cmd(Command.XRANGE).arg(UsageStreams.key(shard)).arg(from).arg("+").arg("COUNT")
        .arg(from.equals("-") ? 1 : PAGE);
    return redis.send(r).compose(reply -> {
      List<Entry> entries = StreamReplies.entries(reply, shard);
      for (Entry e : entries) {
        if (e.fields().containsKey(UsageStreams.OUTBOX_ID)) {
          return Future.succeededFuture();
        }
        if (String.valueOf(orgId).equals(e.fields().get(UsageStreams.ORG_ID))) {
          add(e, out);
        }
      }
      return entries.isEmpty() ? Future.succeededFuture()
          : legacy(orgId, "(" + entries.get(entries.size() - 1).id(), out);
    });
  }

  private static void add(Entry e, Map<String, Long> out) {
    try {
      UsageRecord record = UsageRecord.parse(e.fields(), e.idMillis());
      out.put(record.requestId(), record.costMicros());
    } catch (IllegalArgumentException malformed) {
      // the writer sets it aside in usage_rejects; it was never a valid charge
    }
  }
}
