package ai.gpt.api.limits;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.redis.client.Response;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Admission of one request with {@code lua/admit_v6.lua}: one script run checks and consumes every bucket, takes
 * the concurrency lease and places the credit hold, or consumes nothing. Admissions of one hash slot tag that
 * arrive together share one EVALSHA ({@link ScriptBatches}). When Redis has no balance for the org,
 * {@link BalanceLoads} supplies it and the script runs once more with it.
 */
public final class Admission {
  public static final String SCRIPT = "lua/admit_v6.lua";
  static final int KEYS = 8;
  static final int ARGS = 11;

  /** Every possible bucket, in the order of the script's bucket positions 1..12. */
  static final List<Bucket> ALL_BUCKETS = Bucket.ALL;

  private final ScriptBatches script;
  private final BalanceLoads balances;
  private final LimiterSettings settings;

  Admission(ScriptBatches script, BalanceLoads balances, LimiterSettings settings) {
    this.script = script;
    this.balances = balances;
    this.settings = settings;
  }

  /**
   * Admits or rejects. Fails (nothing consumed) when the request id was already admitted or settled, when the
   * balance cannot be loaded, or when Redis fails.
   */
  public Future<AdmissionResult> admit(AdmissionRequest r) {
    List<String> keys = List.of(RedisKeys.balance(r.orgId()), RedisKeys.holds(r.orgId()),
        RedisKeys.holdExpiries(r.orgId()), RedisKeys.request(r.orgId(), r.requestId()),
        RedisKeys.concurrency(r.orgId(), r.keyId()), RedisKeys.balanceGeneration(r.orgId()),
        RedisKeys.limits(r.orgId(), r.keyId(), Bucket.Scope.ORG),
        RedisKeys.limits(r.orgId(), r.keyId(), Bucket.Scope.KEY));
    Integer concurrency = r.keyLimits().concurrency();
    List<Object> args = new ArrayList<>(ARGS);
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
    args.add(packedPlan(r.orgLimits(), r.keyLimits(), settings));
    // A balance load may be shared with a request of another event loop and complete there: every answer is
    // delivered on the context that asked for the admission.
    Context asking = script.callerContext();
    return balances.call(r.orgId(), (balance, generation) -> {
      args.set(8, balance);
      args.set(9, generation);
      return script.call(asking, r.orgId(), keys, args);
    }).compose(resp -> parse(r, resp));
  }

  /**
   * ARGV 11 (and allot_v1.lua's ARGV 7, see lua/plan.lua): the capacity of every bucket (0 = unlimited), then the
   * three window lengths, as packed doubles.
   */
  static byte[] packedPlan(Limits org, Limits key, LimiterSettings settings) {
    ByteBuffer packed = ByteBuffer.allocate(15 * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (Bucket b : ALL_BUCKETS) {
      Long capacity = (b.scope() == Bucket.Scope.ORG ? org : key).get(b.kind(), b.window());
      packed.putDouble(capacity == null ? 0 : capacity);
    }
    for (Window w : Window.values()) {
      packed.putDouble(settings.windowMs(w));
    }
    return packed.array();
  }

  private Future<AdmissionResult> parse(AdmissionRequest r, Response resp) {
    String status = resp.get(0).toString();
    if ("duplicate".equals(status)) {
      return Future.failedFuture(new IllegalStateException("request id " + r.requestId() + " was already admitted"));
    }
    int failed = resp.get(1).toInteger();
    long retry = resp.get(2).toLong();
    WindowState requests = window(resp, 3);
    WindowState tokens = window(resp, 7);
    long available = resp.get(11).toLong();
    AdmissionResult result = switch (status) {
      case "ok" -> new AdmissionResult(AdmissionResult.Outcome.ADMITTED, null, -1, requests, tokens, available);
      case "rate_limit" -> new AdmissionResult(AdmissionResult.Outcome.RATE_LIMITED, ALL_BUCKETS.get(failed - 1),
          retry, requests, tokens, available);
      case "concurrency" -> new AdmissionResult(AdmissionResult.Outcome.CONCURRENCY_LIMITED, null,
          settings.concurrencyRetryAfterMs(), requests, tokens, available);
      case "insufficient_quota" -> new AdmissionResult(AdmissionResult.Outcome.INSUFFICIENT_QUOTA, null, -1,
          requests, tokens, available);
      default -> null;
    };
    return result == null
        ? Future.failedFuture(new IllegalStateException("unexpected admit_v6 answer: " + resp))
        : Future.succeededFuture(result);
  }

  /** The header values of one kind at {@code at} (position, limit, remaining, ms until full), or null: unlimited. */
  static WindowState window(Response resp, int at) {
    int position = resp.get(at).toInteger();
    if (position == 0) {
      return null;
    }
    return new WindowState(ALL_BUCKETS.get(position - 1), resp.get(at + 1).toLong(), resp.get(at + 2).toLong(),
        resp.get(at + 3).toLong());
  }
}
