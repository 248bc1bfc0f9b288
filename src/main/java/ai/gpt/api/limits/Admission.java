package ai.gpt.api.limits;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Admission of one request with {@code lua/admit_v1.lua}: one EVALSHA checks and consumes every bucket, takes the
 * concurrency lease and places the credit hold, or consumes nothing. When Redis has no balance for the org, the
 * {@link BalanceLoader} supplies it (concurrent loads of one org on this replica are coalesced), it is stored with
 * SET NX, and the script runs once more.
 */
public final class Admission {
  public static final String SCRIPT = "lua/admit_v1.lua";

  /** Every possible bucket, in the order they are passed to the script. */
  static final List<Bucket> ALL_BUCKETS = Bucket.ALL;

  private final RedisScript script;
  private final Redis redis;
  private final BalanceLoader loader;
  private final LimiterSettings settings;
  private final Map<Long, Future<Void>> loading = new ConcurrentHashMap<>();

  public Admission(RedisScript script, Redis redis, BalanceLoader loader, LimiterSettings settings) {
    this.script = script;
    this.redis = redis;
    this.loader = loader;
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
    Integer concurrency = r.keyLimits().concurrency();
    args.add(r.requestId());
    args.add(Long.toString(r.orgId()));
    args.add(Long.toString(r.keyId()));
    args.add(Long.toString(r.holdMicros()));
    args.add(Long.toString(r.reservedTokens()));
    args.add(Integer.toString(concurrency == null ? 0 : concurrency));
    args.add(Long.toString(settings.reservationTtlMs()));
    args.add(Long.toString(settings.balanceTtlMs()));
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
    args.set(8, Integer.toString(buckets.size()));

    return script.call(keys, args).compose(resp -> {
      if (!"no_balance".equals(resp.get(0).toString())) {
        return parse(r, buckets, resp);
      }
      return loadBalance(r.orgId())
          .compose(v -> script.call(keys, args))
          .compose(again -> "no_balance".equals(again.get(0).toString())
              ? Future.failedFuture(new IllegalStateException("balance of org " + r.orgId() + " vanished after load"))
              : parse(r, buckets, again));
    });
  }

  private Future<Void> loadBalance(long orgId) {
    Promise<Void> promise = Promise.promise();
    Future<Void> running = loading.putIfAbsent(orgId, promise.future());
    if (running != null) {
      return running;
    }
    Future<Long> loaded;
    try {
      loaded = loader.load(orgId);
    } catch (RuntimeException e) {
      loaded = Future.failedFuture(e);
    }
    loaded.compose(balance -> {
      if (balance == null) {
        return Future.failedFuture(new IllegalStateException("no balance for org " + orgId));
      }
      return redis.send(Request.cmd(Command.SET).arg(RedisKeys.balance(orgId)).arg(balance)
          .arg("NX").arg("PX").arg(settings.balanceTtlMs()));
    }).<Void>mapEmpty().onComplete(ar -> {
      loading.remove(orgId, promise.future());
      promise.handle(ar);
    });
    return promise.future();
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
        ? Future.failedFuture(new IllegalStateException("unexpected admit_v1 answer: " + resp))
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
