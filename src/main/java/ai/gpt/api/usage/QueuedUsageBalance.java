package ai.gpt.api.usage;

import ai.gpt.api.billing.Ledger;
import ai.gpt.api.usage.StreamReplies.Entry;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The balance a Redis hot balance must be loaded with: the ledger's balance minus the cost of the
 * organization's usage events still queued in its usage stream (already charged when settled, not yet written
 * as ledger debits). Loading the bare ledger balance would let those events be spent twice. Fits
 * {@code ai.gpt.api.limits.BalanceLoader}: {@code new QueuedUsageBalance(ledger, redis)::load}.
 *
 * <p>An event settled between the stream scan and the load is not subtracted; settlement only charges a hot
 * balance that exists, so that window is the loader's usual SET NX race, one request wide.
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

  /** Request id → cost in micro-USD of the organization's entries in its usage stream. */
  public Future<Map<String, Long>> queuedCosts(long orgId) {
    return scan(orgId, "-", new HashMap<>());
  }

  private Future<Map<String, Long>> scan(long orgId, String from, Map<String, Long> out) {
    int shard = UsageStreams.shardOf(orgId);
    Request r = Request.cmd(Command.XRANGE).arg(UsageStreams.key(shard)).arg(from).arg("+").arg("COUNT").arg(PAGE);
    return redis.send(r).compose(reply -> {
      List<Entry> entries = StreamReplies.entries(reply, shard);
      for (Entry e : entries) {
        if (e.fields() == null || !String.valueOf(orgId).equals(e.fields().get(UsageStreams.ORG_ID))) {
          continue;
        }
        try {
          UsageRecord record = UsageRecord.parse(e.fields(), e.idMillis());
          out.put(record.requestId(), record.costMicros());
        } catch (IllegalArgumentException malformed) {
          // the writer sets it aside in usage_rejects; it was never a valid charge
        }
      }
      if (entries.size() < PAGE) {
        return Future.succeededFuture(out);
      }
      return scan(orgId, "(" + entries.get(entries.size() - 1).id(), out);
    });
  }
}
