package ai.gpt.api.limits;

import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;

/**
 * Settlement of one request with {@code lua/settle_v1.lua}: one EVALSHA gives back unused tokens, releases the
 * lease and the hold, charges the exact cost, marks the request settled and appends the usage event to
 * {@code gptapi:{s<shard>}:usage}. Idempotent by request id for {@link LimiterSettings#settledTtlMs()}.
 */
public final class Settlement {
  public static final String SCRIPT = "lua/settle_v1.lua";

  private final RedisScript script;
  private final LimiterSettings settings;

  public Settlement(RedisScript script, LimiterSettings settings) {
    this.script = script;
    this.settings = settings;
  }

  public Future<SettleResult> settle(SettledUsage u) {
    long org = u.orgId();
    List<String> keys = new ArrayList<>(13);
    keys.add(RedisKeys.balance(org));
    keys.add(RedisKeys.holds(org));
    keys.add(RedisKeys.holdExpiries(org));
    keys.add(RedisKeys.request(org, u.requestId()));
    keys.add(RedisKeys.settled(org, u.requestId()));
    keys.add(RedisKeys.concurrency(org, u.keyId()));
    keys.add(RedisKeys.usageStreamOf(org));
    for (Bucket b : Admission.ALL_BUCKETS) {
      if (b.kind() == Bucket.Kind.TOKENS) {
        keys.add(RedisKeys.bucket(org, u.keyId(), b));
      }
    }
    // An empty field is stored as NULL: no backend was reached, or no token ever came.
    List<String> args = List.of(u.requestId(), Long.toString(org), Long.toString(u.keyId()), u.model(),
        u.backendId() > 0 ? Long.toString(u.backendId()) : "", u.endpoint(), Long.toString(u.promptTokens()),
        Long.toString(u.completionTokens()), Long.toString(u.cachedTokens()), Long.toString(u.costMicros()),
        Integer.toString(u.status()), u.estimated() ? "1" : "0", Long.toString(u.latencyMs()),
        u.ttftMs() >= 0 ? Long.toString(u.ttftMs()) : "", Long.toString(settings.settledTtlMs()));
    return script.call(keys, args).map(resp -> {
      if ("duplicate".equals(resp.get(0).toString())) {
        return new SettleResult(SettleResult.Outcome.DUPLICATE, null, false, null);
      }
      boolean present = resp.get(2).toInteger() == 1;
      return new SettleResult(SettleResult.Outcome.SETTLED, present ? resp.get(1).toLong() : null,
          resp.get(3).toInteger() == 1, resp.get(4).toString());
    });
  }
}
