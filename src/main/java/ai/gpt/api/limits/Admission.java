package ai.gpt.api.limits;

import io.vertx.core.Future;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;

/**
 * Admission of one request with {@code lua/admit_v2.lua}: one EVALSHA checks and consumes every bucket, takes the
 * concurrency lease and places the credit hold, or consumes nothing. When Redis has no balance for the org,
 * {@link BalanceLoads} supplies it and the script runs once more with it.
 */
public final class Admission {
  public static final String SCRIPT = "lua/admit_v2.lua";

  /** Every possible bucket, in the order they are passed to the script. */
  static final List<Bucket> ALL_BUCKETS = Bucket.ALL;

  private final RedisScript script;
  private final BalanceLoads balances;
  private final LimiterSettings settings;

  public Admission(RedisScript script, BalanceLoads balances, LimiterSettings settings) {
    this.script = script;
    this.balances = balances;
    this.settings = settings;
  }

  /**
   * Admits or rejects. Fails (nothing consumed) when the request id was already admitted or settled, when the
   * balance cannot be loaded, or when Redis fails.
   */
  public Future<AdmissionResult> admit(AdmissionRequest r) {
    List<Bucket> buckets = new ArrayList<>(12);
    List<String> keys = new ArrayList<>(18);
    List<String> args = new ArrayList<>(45);
    keys.add(RedisKeys.balance(r.orgId()));
    keys.add(RedisKeys.holds(r.orgId()));
    keys.add(RedisKeys.holdExpiries(r.orgId()));
    keys.add(RedisKeys.request(r.orgId(), r.requestId()));
    keys.add(RedisKeys.settled(r.orgId(), r.requestId()));
    keys.add(RedisKeys.concurrency(r.orgId(), r.keyId()));
    keys.add(RedisKeys.balanceGeneration(r.orgId()));
    Integer concurrency = r.keyLimits().concurrency();
    args.add(r.requestId());
    args.add(Long.toString(r.orgId()));
    args.add(Long.toString(r.keyId()));
    args.add(Long.toString(r.holdMicros()));
    args.add(Long.toString(r.reservedTokens()));
    args.add(Integer.toString(concurrency == null ? 0 : concurrency));
    args.add(Long.toString(settings.reservationTtlMs()));
    args.add(Long.toString(settings.balanceTtlMs()));
    args.add(""); // loaded balance and its generation, set per call
    args.add("");
    args.add(""); // bucket count, set below
    for (Bucket b : ALL_BUCKETS) {
      Limits limits = b.scope() == Bucket.Scope.ORG ? r.orgLimits() : r.keyLimits();
      Long capacity = limits.get(b.kind(), b.window());
      if (capacity == null) {
        continue;
      }
      buckets.add(b);
      keys.add(RedisKeys.bucket(r.orgId(), r.keyId(), b));
      args.add(b.kind() == Bucket.Kind.REQUESTS ? "r" : "t");
      args.add(Long.toString(capacity));
      args.add(Long.toString(settings.windowMs(b.window())));
    }
    args.set(10, Integer.toString(buckets.size()));

    return balances.call(r.orgId(), (balance, generation) -> {
      args.set(8, balance);
      args.set(9, generation);
      return script.call(keys, args);
    }).compose(resp -> parse(r, buckets, resp));
  }

  private Future<AdmissionResult> parse(AdmissionRequest r, List<Bucket> buckets, Response resp) {
    String status = resp.get(0).toString();
    if ("duplicate".equals(status)) {
      return Future.failedFuture(new IllegalStateException("request id " + r.requestId() + " was already admitted"));
    }
    int failed = resp.get(1).toInteger();
    long retry = resp.get(2).toLong();
    WindowState requests = window(buckets, resp, 3);
    WindowState tokens = window(buckets, resp, 7);
    long available = resp.get(11).toLong();
    AdmissionResult result = switch (status) {
      case "ok" -> new AdmissionResult(AdmissionResult.Outcome.ADMITTED, null, -1, requests, tokens, available);
      case "rate_limit" -> new AdmissionResult(AdmissionResult.Outcome.RATE_LIMITED, buckets.get(failed - 1), retry,
          requests, tokens, available);
      case "concurrency" -> new AdmissionResult(AdmissionResult.Outcome.CONCURRENCY_LIMITED, null,
          settings.concurrencyRetryAfterMs(), requests, tokens, available);
      case "insufficient_quota" -> new AdmissionResult(AdmissionResult.Outcome.INSUFFICIENT_QUOTA, null, -1,
          requests, tokens, available);
      default -> null;
    };
    return result == null
        ? Future.failedFuture(new IllegalStateException("unexpected admit_v2 answer: " + resp))
        : Future.succeededFuture(result);
  }

  private static WindowState window(List<Bucket> buckets, Response resp, int at) {
    int index = resp.get(at).toInteger();
    if (index == 0) {
      return null;
    }
    return new WindowState(buckets.get(index - 1), resp.get(at + 1).toLong(), resp.get(at + 2).toLong(),
        resp.get(at + 3).toLong());
  }
}
