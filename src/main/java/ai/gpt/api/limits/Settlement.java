package ai.gpt.api.limits;

import ai.gpt.api.usage.UsageHandoff;
import ai.gpt.api.usage.UsageRecord;
import ai.gpt.api.usage.UsageStreams;
import io.vertx.core.Future;
import java.util.List;
import java.util.Map;

/**
 * Settlement of one request with {@code lua/settle_v7.lua}: one script run gives back unused tokens, releases the
 * lease and the hold, charges the exact cost, marks the request settled and appends the usage event to the
 * organization's outbox ({@link RedisKeys#outbox}). Settlements of one organization that arrive together share one
 * EVALSHA ({@link ScriptBatches}); each future still completes only once its own settlement has run. Idempotent by
 * request id for {@link LimiterSettings#settledTtlMs()}.
 *
 * <p>Once settled, the event is handed to this process's usage writer ({@link UsageHandoff}) or, when it cannot take
 * it, copied to its shard's usage stream ({@link ShardForwarder}), without the caller waiting for either: the outbox
 * entry is the durable copy (an event lost in between is recovered from the outbox by the usage writer's sweep).
 */
public final class Settlement {
  public static final String SCRIPT = "lua/settle_v7.lua";
  static final int KEYS = 9;
  static final int ARGS = 9;

  private final ScriptBatches script;
  private final ShardForwarder forwarder;
  private final UsageHandoff handoff;
  private final LimiterSettings settings;

  Settlement(ScriptBatches script, ShardForwarder forwarder, UsageHandoff handoff, LimiterSettings settings) {
    this.script = script;
    this.forwarder = forwarder;
    this.handoff = handoff;
    this.settings = settings;
  }

  /** @param allotted admitted from an allotment: no reservation, hold or lease of its own (settle_v7's ARGV 9) */
  public Future<SettleResult> settle(SettledUsage u, boolean allotted) {
    long org = u.orgId();
    List<String> keys = keys(org, u.keyId(), u.requestId());
    String orgId = Long.toString(org);
    String usage = UsageRecord.usage(u);
    List<String> args = List.of(u.requestId(), orgId, Long.toString(u.keyId()), Long.toString(u.promptTokens()),
        Long.toString(u.completionTokens()), Long.toString(u.costMicros()), usage,
        Long.toString(settings.settledTtlMs()), allotted ? "1" : "0");
    return script.call(org, keys, args).map(resp -> {
      if ("duplicate".equals(resp.get(0).toString())) {
        return new SettleResult(SettleResult.Outcome.DUPLICATE, null, false, null);
      }
      String outboxId = resp.get(4).toString();
      String tsMs = resp.get(5).toString();
      // The event as the script appended it to the outbox.
      Map<String, String> event = UsageStreams.fields(u.requestId(), orgId, usage, tsMs);
      UsageRecord record = UsageRecord.settled(u, Long.parseLong(tsMs));
      if (record == null || !handoff.offer(record, event, outboxId)) {
        forwarder.forward(org, event, outboxId);
      }
      boolean present = resp.get(2).toInteger() == 1;
      return new SettleResult(SettleResult.Outcome.SETTLED, present ? resp.get(1).toLong() : null,
          resp.get(3).toInteger() == 1, outboxId);
    });
  }

  /** The script's KEYS for one request (see the script's header). */
  public static List<String> keys(long orgId, long keyId, String requestId) {
    return List.of(RedisKeys.balance(orgId), RedisKeys.holds(orgId), RedisKeys.holdExpiries(orgId),
        RedisKeys.request(orgId, requestId), RedisKeys.concurrency(orgId, keyId), RedisKeys.outbox(orgId),
        RedisKeys.limits(orgId, keyId, Bucket.Scope.ORG), RedisKeys.limits(orgId, keyId, Bucket.Scope.KEY),
        RedisKeys.balanceGeneration(orgId));
  }
}
