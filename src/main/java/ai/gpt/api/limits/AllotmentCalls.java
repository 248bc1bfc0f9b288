package ai.gpt.api.limits;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Response;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Takes and ends allotments in Redis ({@code lua/allot_v1.lua}, {@code lua/allot_end_v1.lua}): a block of
 * admissions (requests, tokens, a credit hold and concurrency slots) taken from an organization's limits and credit
 * at once, which the gateway then grants request by request from its memory ({@code ai.gpt.api.metering.Allotments}).
 * One call per allotment, not batched: a busy scope takes one every few dozen requests.
 */
public final class AllotmentCalls {
  public static final String TAKE_SCRIPT = "lua/allot_v1.lua";
  public static final String END_SCRIPT = "lua/allot_end_v1.lua";
  /** Far above a healthy call; a take that times out may still have run, so its caller ends it. */
  static final long TIMEOUT_MS = 2_000;

  /**
   * What an allotment takes: requests from every request bucket, tokens from every token bucket, a hold of credit,
   * and concurrency slots (0 when the key has no concurrency limit).
   */
  public record Size(long requests, long tokens, long holdMicros, int slots) {}

  /**
   * A granted allotment: the header values of the tightest request and token windows right after it was taken
   * (null when unlimited), and the credit available (balance minus holds) before it.
   */
  public record Grant(WindowState requests, WindowState tokens, long availableMicros) {}

  private final RedisScript take;
  private final RedisScript end;
  private final LimiterSettings settings;

  private AllotmentCalls(RedisScript take, RedisScript end, LimiterSettings settings) {
    this.take = take;
    this.end = end;
    this.settings = settings;
  }

  static Future<AllotmentCalls> create(Vertx vertx, Redis redis, LimiterSettings settings) {
    Future<RedisScript> take = RedisScript.load(vertx, redis, TAKE_SCRIPT);
    Future<RedisScript> end = RedisScript.load(vertx, redis, END_SCRIPT);
    return Future.all(take, end).map(v -> new AllotmentCalls(take.result(), end.result(), settings));
  }

  /**
   * Takes allotment {@code id} for {@code scope}. Succeeds with null when Redis will not grant it (a bucket, the
   * credit or the concurrency limit has less than twice as much left, or the hot balance is not loaded); fails when
   * the call failed (see {@link RedisScript#mayHaveRun}: then end it, in case it ran).
   */
  public Future<Grant> take(String id, AllotmentScope scope, Size size) {
    long org = scope.orgId();
    List<String> keys = List.of(RedisKeys.balance(org), RedisKeys.holds(org), RedisKeys.holdExpiries(org),
        RedisKeys.concurrency(org, scope.keyId()), RedisKeys.limits(org, scope.keyId(), Bucket.Scope.ORG),
        RedisKeys.limits(org, scope.keyId(), Bucket.Scope.KEY));
    List<Object> args = List.of(id, Long.toString(size.requests()), Long.toString(size.tokens()),
        Long.toString(size.holdMicros()), Integer.toString(size.slots()), Integer.toString(scope.concurrencyLimit()),
        Admission.packedPlan(scope.orgLimits(), scope.keyLimits(), settings),
        Long.toString(settings.reservationTtlMs()));
    return take.call(keys, args).timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS).map(AllotmentCalls::grant);
  }

  /**
   * Ends allotment {@code id}: releases its hold and slots and gives back the requests and tokens it did not use
   * ({@code unusedTokens} may be negative: its requests used more). Completes with whether it was still there.
   */
  public Future<Boolean> end(String id, AllotmentScope scope, long unusedRequests, long unusedTokens, int slots) {
    long org = scope.orgId();
    List<String> keys = List.of(RedisKeys.holds(org), RedisKeys.holdExpiries(org),
        RedisKeys.concurrency(org, scope.keyId()), RedisKeys.limits(org, scope.keyId(), Bucket.Scope.ORG),
        RedisKeys.limits(org, scope.keyId(), Bucket.Scope.KEY));
    List<Object> args = List.of(id, Long.toString(unusedRequests), Long.toString(unusedTokens),
        Integer.toString(slots), Admission.packedPlan(scope.orgLimits(), scope.keyLimits(), settings));
    return end.call(keys, args).timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS).map(r -> r.toInteger() == 1);
  }

  private static Grant grant(Response r) {
    if (!"ok".equals(r.get(0).toString())) {
      return null;
    }
    return new Grant(Admission.window(r, 1), Admission.window(r, 5), r.get(9).toLong());
  }
}
