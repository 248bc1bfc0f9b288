package ai.gpt.api.limits;

import ai.gpt.api.usage.UsageHandoff;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;

/**
 * The metering facade the request path uses: {@link #admit} before forwarding, {@link #settle} when the response
 * has ended (normally, by error or by client disconnect). Each is one Redis round trip (admission takes a second
 * one, plus the loader, only when the org's balance is not in Redis yet), shared with the other admissions (or
 * settlements) of its organization that arrive meanwhile ({@link ScriptBatches}).
 *
 * <p>The {@link Redis} client is shared with the rest of the gateway; every batch in flight holds a pooled
 * connection for one call (at most one per organization, more only while full batches wait; the copies of settled
 * events to the usage streams hold at most one more per shard), so size its pool for the load
 * ({@code RedisOptions.setMaxPoolSize}, {@code setMaxPoolWaiting}; the defaults 6 and 24 reject bursts beyond 30
 * concurrent calls).
 */
public final class RateLimiter {
  private final Admission admission;
  private final Settlement settlement;
  private final ShardForwarder forwarder;
  private final AllotmentCalls allotments;

  private RateLimiter(Admission admission, Settlement settlement, ShardForwarder forwarder,
      AllotmentCalls allotments) {
    this.admission = admission;
    this.settlement = settlement;
    this.forwarder = forwarder;
    this.allotments = allotments;
  }

  /** With every usage event copied to the shard streams ({@link UsageHandoff#NONE}). */
  public static Future<RateLimiter> create(Vertx vertx, Redis redis, BalanceLoader loader, LimiterSettings settings) {
    return create(vertx, redis, loader, settings, UsageHandoff.NONE);
  }

  /**
   * Loads the scripts (classpath read on a worker, then SCRIPT LOAD); safe to call from an event loop.
   *
   * @param handoff takes settled usage events to this process's usage writer; those it refuses are copied to the
   *                shard streams
   */
  public static Future<RateLimiter> create(Vertx vertx, Redis redis, BalanceLoader loader, LimiterSettings settings,
      UsageHandoff handoff) {
    Future<RedisScript> admit = RedisScript.load(vertx, redis, Admission.SCRIPT);
    Future<RedisScript> settle = RedisScript.load(vertx, redis, Settlement.SCRIPT);
    Future<AllotmentCalls> allotments = AllotmentCalls.create(vertx, redis, settings);
    ShardForwarder forwarder = new ShardForwarder(vertx, redis);
    return Future.all(admit, settle, allotments).map(v -> new RateLimiter(
        new Admission(new ScriptBatches(vertx, admit.result(), Admission.KEYS, Admission.ARGS),
            new BalanceLoads(vertx, loader), settings),
        new Settlement(Settlement.batches(vertx, settle.result(), settings), forwarder, handoff),
        forwarder, allotments.result()));
  }

  public Future<AdmissionResult> admit(AdmissionRequest request) {
    return admission.admit(request);
  }

  public Future<SettleResult> settle(SettledUsage usage) {
    return settlement.settle(usage, false);
  }

  /** @param allotted the request was admitted from an allotment: it has no hold or lease of its own to release */
  public Future<SettleResult> settle(SettledUsage usage, boolean allotted) {
    return settlement.settle(usage, allotted);
  }

  /** Blocks of admissions a busy scope takes at once (see {@code ai.gpt.api.metering.Allotments}). */
  public AllotmentCalls allotments() {
    return allotments;
  }

  /** Completes once the usage events settled so far have been copied to the usage streams (or given up on). */
  public Future<Void> copiesSent() {
    return forwarder.idle();
  }
}
