package ai.gpt.api.usage;

import ai.gpt.api.limits.SettledUsage;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.List;

/**
 * Writes one settled request straight to PostgreSQL (usage row + its cost in the day's ledger debit), bypassing
 * the Redis stream. Used when Redis cannot take a settlement, so the charge is durable even if this replica dies
 * before Redis returns. It is the usage writer's own statement, idempotent by request id: when the settlement
 * later reaches Redis and the writer sees it in the stream, nothing is written twice. Its transaction also marks
 * the organization's hot balance stale: should this replica die before replaying the settlement to Redis, the
 * next gateway start drops that hot balance (see {@code ai.gpt.api.limits.HotBalances#reconcile}).
 */
public final class DirectUsageWriter {
  private final Pool pool;

  public DirectUsageWriter(Pool pool) {
    this.pool = pool;
  }

  public Future<Void> write(SettledUsage u) {
    UsageRecord record = new UsageRecord(u.requestId(), u.orgId(), u.keyId(), u.model(),
        u.backendId() > 0 ? u.backendId() : null, u.endpoint(), clamp(u.promptTokens()), clamp(u.completionTokens()),
        clamp(u.cachedTokens()), u.costMicros(), u.status(), u.estimated(), clamp(u.latencyMs()),
        u.ttftMs() >= 0 ? clamp(u.ttftMs()) : null, System.currentTimeMillis());
    return pool.withTransaction(tx -> tx.preparedQuery(UsageSql.INSERT_BATCH)
        .execute(UsageSql.batchArgs(List.of(record)))
        .compose(v -> tx.preparedQuery(UsageSql.MARK_STALE).execute(Tuple.of(u.orgId()))).mapEmpty());
  }

  private static int clamp(long v) {
    return (int) Math.min(Integer.MAX_VALUE, v);
  }
}
