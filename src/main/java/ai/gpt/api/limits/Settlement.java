package ai.gpt.api.limits;

import ai.gpt.api.usage.UsageHandoff;
import ai.gpt.api.usage.UsageRecord;
import ai.gpt.api.usage.UsageStreams;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Map;

/**
 * Settlement of one request with {@code lua/settle_v8.lua}: one script run gives back unused tokens, releases the
 * lease and the hold, charges the exact cost, marks the request settled and appends the usage event to the
 * organization's outbox ({@link RedisKeys#outbox}). Settlements of one organization that arrive together share one
 * EVALSHA ({@link ScriptBatches}), which carries the organization's keys and arguments once ({@link #headerKeys});
 * each future still completes only once its own settlement has run. Idempotent by request id for
 * {@link LimiterSettings#settledTtlMs()}.
 *
 * <p>Once settled, the event is handed to this process's usage writer ({@link UsageHandoff}) or, when it cannot take
 * it, copied to its shard's usage stream ({@link ShardForwarder}), without the caller waiting for either: the outbox
 * entry is the durable copy (an event lost in between is recovered from the outbox by the usage writer's sweep).
 */
public final class Settlement {
  public static final String SCRIPT = "lua/settle_v8.lua";
  /** A request's own keys and arguments, after the header's (see the script's header). */
  static final int KEYS = 3;
  static final int ARGS = 7;

  private final ScriptBatches script;
  private final ShardForwarder forwarder;
  private final UsageHandoff handoff;

  Settlement(ScriptBatches script, ShardForwarder forwarder, UsageHandoff handoff) {
    this.script = script;
    this.forwarder = forwarder;
    this.handoff = handoff;
  }

  /** The batches of {@code script} (settle_v8.lua), each starting with its organization's keys and arguments. */
  static ScriptBatches batches(Vertx vertx, RedisScript script, LimiterSettings settings) {
    String ttl = Long.toString(settings.settledTtlMs());
    return new ScriptBatches(vertx, script, KEYS, ARGS,
        org -> new ScriptBatches.Header(headerKeys(org), List.of(Long.toString(org), ttl)));
  }

  /** @param allotted admitted from an allotment: no reservation, hold or lease of its own (settle_v8's ARGV 7) */
  public Future<SettleResult> settle(SettledUsage u, boolean allotted) {
    long org = u.orgId();
    String usage = UsageRecord.usage(u);
    List<String> args = List.of(u.requestId(), Long.toString(u.keyId()), Long.toString(u.promptTokens()),
        Long.toString(u.completionTokens()), Long.toString(u.costMicros()), usage, allotted ? "1" : "0");
    return script.call(org, requestKeys(org, u.keyId(), u.requestId()), args).map(resp -> {
      SettleReply reply = SettleReply.parse(resp.toString());
      if (reply == null) {
        return new SettleResult(SettleResult.Outcome.DUPLICATE, null, false, null);
      }
      // The event as the script appended it to the outbox.
      Map<String, String> event = UsageStreams.fields(u.requestId(), Long.toString(org), usage, reply.tsMs());
      UsageRecord record = UsageRecord.settled(u, Long.parseLong(reply.tsMs()));
      if (record == null || !handoff.offer(record, event, reply.outboxId())) {
        forwarder.forward(org, event, reply.outboxId());
      }
      return new SettleResult(SettleResult.Outcome.SETTLED, reply.balancePresent() ? reply.balanceAfter() : null,
          reply.reservationFound(), reply.outboxId());
    });
  }

  /** The organization's keys, once per script call (the script's header KEYS). */
  public static List<String> headerKeys(long orgId) {
    return List.of(RedisKeys.balance(orgId), RedisKeys.holds(orgId), RedisKeys.holdExpiries(orgId),
        RedisKeys.outbox(orgId), RedisKeys.limits(orgId, Bucket.Scope.ORG, orgId), RedisKeys.balanceGeneration(orgId));
  }

  /** One request's own KEYS (see the script's header). */
  public static List<String> requestKeys(long orgId, long keyId, String requestId) {
    return List.of(RedisKeys.request(orgId, requestId), RedisKeys.concurrency(orgId, keyId),
        RedisKeys.limits(orgId, keyId, Bucket.Scope.KEY));
  }
}
