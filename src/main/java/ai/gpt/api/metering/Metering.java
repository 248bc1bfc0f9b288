package ai.gpt.api.metering;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.limits.BalanceLoader;
import ai.gpt.api.limits.HotBalances;
import ai.gpt.api.limits.LimiterSettings;
import ai.gpt.api.limits.RateLimiter;
import ai.gpt.api.limits.RedisScript;
import ai.gpt.api.limits.SettledUsage;
import ai.gpt.api.usage.DirectUsageWriter;
import ai.gpt.api.usage.UsageHandoff;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Metering as the request path sees it: {@link #admit} before a request is forwarded and {@link #settle} exactly
 * once when it ends. Normally both are one Redis script call ({@link RateLimiter}), except that a busy key's
 * admissions come from allotments taken from Redis in blocks ({@link Allotments}); this class adds what happens
 * when Redis fails: the {@link FailurePolicy} for admissions, and replay of settlements Redis could not take.
 */
public final class Metering implements RequestMetering {
  private static final Logger LOG = LoggerFactory.getLogger(Metering.class);
  static final long RETRY_INTERVAL_MS = 500;
  /**
   * A Redis call that takes longer is treated as failed. Far above a healthy call (well under 1 ms), it bounds how
   * long a request can wait on a Redis that accepts connections but does not answer.
   */
  static final long CALL_TIMEOUT_MS = 2_000;
  /** The most a call waits while this process's own load delays its reply (see {@link Deadline}). */
  static final long MAX_CALL_WAIT_MS = 10_000;
  private static final int RETRY_BATCH = 256;
  /** The admissions metric's outcome label of each outcome (admitted, rate_limited…), made once. */
  private static final String[] OUTCOME_LABELS = Arrays.stream(AdmissionResult.Outcome.values())
      .map(o -> o.name().toLowerCase(Locale.ROOT)).toArray(String[]::new);
  /**
   * Metering calls sent to Redis at once: twice the pooled connections (Gateway's REDIS_POOL_SIZE is 256), so every
   * connection has the next call waiting, and far below the client's wait queue (4,096), which must never overflow.
   */
  static final int MAX_IN_FLIGHT = 512;
  /** Admissions that may wait for a Redis slot; beyond, a burst gets 503 gateway_overloaded at once. */
  static final int MAX_QUEUED = 20_000;
  /**
   * Longest an admission waits for a Redis slot. Redis takes a burst of thousands in about a second; what makes
   * the queue long is this process's own CPU (a cold JIT, or a starved machine, handles a few hundred new requests a
   * second), and a client that opened thousands of streams at once would rather wait a few seconds than retry.
   */
  static final long MAX_QUEUE_WAIT_MS = 10_000;
  private static final long EXPIRE_INTERVAL_MS = 100;

  private final Vertx vertx;
  private final RateLimiter limiter;
  private final FailurePolicy policy;
  private final LocalLimiter local;
  private final PendingSettlements pending = new PendingSettlements();
  private final MeteringMetrics metrics;
  private final RedisOutage outage;
  private final BooleanSupplier redisAnswering;
  private final RedisProbe probe;
  private final RedisCallGate gate = new RedisCallGate(MAX_IN_FLIGHT, MAX_QUEUED, MAX_QUEUE_WAIT_MS);
  private final DirectUsageWriter durable;
  /** Null with METERING_ALLOTMENTS=off. */
  private final Allotments allotments;
  private final Redis redis;
  private final long balanceTtlMs;
  private final AtomicInteger replaying = new AtomicInteger();
  private final long retryTimer;
  private final long expireTimer;
  private volatile BalanceWatch watch = BalanceWatch.NONE;
  private volatile BiConsumer<AdmissionRequest, AdmissionResult> onLimited = (r, result) -> { };

  private Metering(Vertx vertx, Redis redis, RateLimiter limiter, RedisProbe probe, LimiterSettings settings,
      FailurePolicy policy, boolean allotments, DirectUsageWriter durable, MeterRegistry registry) {
    this.vertx = vertx;
    this.redis = redis;
    this.balanceTtlMs = settings.balanceTtlMs();
    this.durable = durable;
    this.limiter = limiter;
    this.allotments = allotments ? new Allotments(vertx, limiter.allotments()) : null;
    this.policy = policy;
    this.probe = probe;
    this.local = new LocalLimiter(settings);
    this.metrics = new MeteringMetrics(registry, pending);
    metrics.queue(gate);
    this.outage = new RedisOutage(policy, metrics, local::reset, probe, CALL_TIMEOUT_MS);
    this.redisAnswering = outage::answering;
    this.retryTimer = vertx.setPeriodic(RETRY_INTERVAL_MS, id -> replay());
    this.expireTimer = vertx.setPeriodic(EXPIRE_INTERVAL_MS, id -> gate.expire());
  }

  /**
   * Loads the limiter's scripts into Redis (so Redis must be up at start) and starts the settlement replayer.
   *
   * @param allotments whether busy scopes are admitted from allotments ({@link Allotments})
   * @param durable where a settlement Redis refused is written at once, so it survives this process
   * @param handoff takes settled usage events to this process's usage writer (see {@link RateLimiter#create})
   */
  public static Future<Metering> create(Vertx vertx, Redis redis, BalanceLoader loader, LimiterSettings settings,
      FailurePolicy policy, boolean allotments, DirectUsageWriter durable, UsageHandoff handoff,
      MeterRegistry registry) {
    BalanceLoader marked = orgId -> loader.load(orgId).recover(e -> Future.failedFuture(new BalanceUnavailable(e)));
    return RateLimiter.create(vertx, redis, marked, settings, handoff).compose(limiter -> RedisProbe.create(vertx, redis)
        .map(probe -> new Metering(vertx, redis, limiter, probe, settings, policy, allotments, durable,
            registry)));
  }

  /** Metered requests are charged: their responses state the cost. */
  @Override
  public boolean charges() {
    return true;
  }

  /** From now on, every settlement Redis takes reports the organization's hot balance after it to {@code w}. */
  public void watchBalances(BalanceWatch w) {
    this.watch = w;
  }

  /**
   * Admits or rejects the request. Fails with an {@link ApiError} (503) when it cannot be decided: Redis is
   * down under the closed policy, or the organization's balance cannot be loaded.
   *
   * @param model    the model asked for, and
   * @param endpoint the endpoint: only recorded if the request must be settled unserved
   */
  public Future<AdmissionResult> admit(AdmissionRequest r, String model, String endpoint) {
    if (allotments != null && !outage.down()) {
      AdmissionResult granted = allotments.admit(r, System.currentTimeMillis());
      if (granted != null) {
        count(granted, r, "allotment");
        local.observe(r.orgId(), granted.availableMicros() - r.holdMicros());
        return Future.succeededFuture(granted);
      }
    }
    if (outage.down() && !gate.hasRoom()) {
      // Redis is known down and calls to it are stuck: the policy answers now rather than after a queue's wait.
      return fallback(r);
    }
    return gate.admission(() -> {
      long start = System.nanoTime();
      return Deadline.of(vertx, limiter.admit(r), CALL_TIMEOUT_MS, MAX_CALL_WAIT_MS, redisAnswering)
          .onSuccess(result -> metrics.admitLatency(System.nanoTime() - start));
    }).transform(ar -> {
      if (ar.succeeded()) {
        outage.succeeded();
        AdmissionResult result = ar.result();
        count(result, r, "redis");
        if (result.admitted()) {
          local.observe(r.orgId(), result.availableMicros() - r.holdMicros());
          if (allotments != null) {
            allotments.admittedExactly(r, System.currentTimeMillis());
          }
        }
        return Future.succeededFuture(result);
      }
      return failed(r, ar.cause(), model, endpoint);
    });
  }

  private Future<AdmissionResult> failed(AdmissionRequest r, Throwable cause, String model, String endpoint) {
    if (cause == RedisCallGate.OVERLOADED) {
      metrics.admission("overloaded", "", "redis");
      return Future.failedFuture(ApiError.gatewayOverloaded());
    }
    if (cause instanceof BalanceUnavailable) {
      // PostgreSQL, not Redis, is failing: only organizations whose balance is not in Redis yet are affected.
      metrics.admission("unavailable", "", "redis");
      LOG.warn("Could not load the balance of org {}: {}", r.orgId(), cause.getCause().toString());
      return Future.failedFuture(ApiError.unavailable(
          "Your credit balance cannot be checked right now. Please retry shortly."));
    }
    return outage.failed(cause).compose(down -> {
      Future<AdmissionResult> answer;
      if (down) {
        answer = fallback(r);
      } else {
        // Redis answers: the call only waited behind this gateway's own burst.
        metrics.admission("overloaded", "", "redis");
        answer = Future.failedFuture(ApiError.gatewayOverloaded());
      }
      if (answer.failed() && RedisScript.mayHaveRun(cause)) {
        // The script may have run, taking a hold and a lease nobody will settle: settling the request id now (for
        // nothing) releases them, or makes a late admission see a settled id and do nothing. (A request admitted
        // locally instead is settled under the same id when it ends.)
        send(new PendingSettlements.Pending(SettledUsage.unserved(r, model, endpoint, 503), false, System.nanoTime()),
            true);
      }
      return answer;
    });
  }

  /** Admission while Redis is down, by the failure policy. */
  private Future<AdmissionResult> fallback(AdmissionRequest r) {
    if (policy == FailurePolicy.OPEN) {
      try {
        AdmissionResult result = local.admit(r, System.currentTimeMillis());
        count(result, r, "local");
        return Future.succeededFuture(result);
      } catch (LocalLimiter.UnknownBalance unknown) {
        // fall through: this replica cannot vouch for the organization's credit
      }
    }
    metrics.admission("unavailable", "", policy == FailurePolicy.OPEN ? "local" : "redis");
    return Future.failedFuture(ApiError.unavailable("Rate limiting is temporarily unavailable. Please retry shortly."));
  }

  /** Told about every request refused by a rate or concurrency limit (the webhooks' limits.exceeded). */
  public void onLimited(BiConsumer<AdmissionRequest, AdmissionResult> listener) {
    this.onLimited = listener;
  }

  private void count(AdmissionResult result, AdmissionRequest r, String source) {
    if (result.outcome() == AdmissionResult.Outcome.RATE_LIMITED
        || result.outcome() == AdmissionResult.Outcome.CONCURRENCY_LIMITED) {
      onLimited.accept(r, result);
    }
    String outcome = OUTCOME_LABELS[result.outcome().ordinal()];
    String window = result.tripped() == null ? "" : result.tripped().label();
    metrics.admission(outcome, window, source);
    if (result.admitted()) {
      metrics.held(r.holdMicros());
    }
  }

  /**
   * Settles an admitted request: prices are already applied ({@link SettledUsage#costMicros()}). The future
   * completes once the settlement is durable: accepted by Redis (its usage event is in the organization's outbox),
   * or, when Redis cannot take it, written to PostgreSQL and kept for replay. The proxy ends the response only then, so a request
   * a client saw complete is billed even if this process dies the next instant. It never fails.
   *
   * @param holdMicros the hold its admission placed (for the holds-outstanding gauge)
   */
  public Future<Void> settle(SettledUsage u, long holdMicros) {
    metrics.released(holdMicros);
    metrics.usage(u.model(), u.promptTokens(), u.completionTokens(), u.costMicros());
    local.settle(u, System.currentTimeMillis());
    boolean allotted = allotments != null && allotments.settled(u);
    return send(new PendingSettlements.Pending(u, allotted, System.nanoTime()), true);
  }

  /** @param first the first attempt: a failure also writes the settlement to PostgreSQL directly */
  private Future<Void> send(PendingSettlements.Pending p, boolean first) {
    return gate.settlement(() -> {
      long start = System.nanoTime();
      return Deadline.of(vertx, limiter.settle(p.usage(), p.allotted()), CALL_TIMEOUT_MS, MAX_CALL_WAIT_MS, redisAnswering)
          .onSuccess(result -> metrics.settleLatency(System.nanoTime() - start));
    }).transform(ar -> {
      if (ar.succeeded()) {
        outage.succeeded();
        metrics.settled(System.nanoTime() - p.endedNanos());
        if (!first) {
          pending.resolved();
          forgetBalance(p.usage().orgId());
        }
        Long balance = ar.result().balanceAfterMicros();
        if (balance != null) {
          watch.settled(p.usage().orgId(), balance);
        }
        return Future.succeededFuture();
      }
      String message = String.valueOf(ar.cause().getMessage());
      if (message.contains("GPTAPI_MISMATCH")) {
        // A bug, not an outage: replaying cannot fix it, and the reservation expires on its own.
        LOG.error("Settlement of {} refused by Redis: {}", p.usage().requestId(), message);
        if (!first) {
          pending.resolved();
        }
        return Future.succeededFuture();
      }
      outage.failed(ar.cause());
      if (!first) {
        pending.requeue(p);
        return Future.succeededFuture();
      }
      pending.add(p);
      return durable.write(p.usage()).recover(e -> {
        LOG.error("Settlement of {} is held only in memory until Redis returns (PostgreSQL write failed too: {})",
            p.usage().requestId(), e.toString());
        return Future.succeededFuture();
      });
    });
  }

  /**
   * A replayed settlement was (most likely) written to the ledger directly when Redis first refused it, so a hot
   * balance loaded since then already counts it and the replay just charged it again: drop the hot balance, the
   * next admission reloads the exact one. Rare (only after a Redis outage), and a failed drop is only logged: the
   * organization stays marked in hot_balance_stale by the direct write, for the next reconciliation.
   */
  private void forgetBalance(long orgId) {
    HotBalances.drop(redis, orgId, balanceTtlMs).onFailure(e ->
        LOG.warn("Could not drop the hot balance of org {} after a replayed settlement: {}", orgId, e.toString()));
  }

  /** Replays a batch of waiting settlements; one batch at a time, so a long outage does not pile up calls. */
  private void replay() {
    if (pending.size() == 0 || !replaying.compareAndSet(0, 1)) {
      return;
    }
    List<PendingSettlements.Pending> batch = pending.take(RETRY_BATCH);
    Future.join(batch.stream().map(p -> send(p, false)).toList()).onComplete(v -> replaying.set(0));
  }

  /**
   * Completes once the usage events of the settlements so far are in the usage streams (copied from their
   * organizations' outboxes, see {@link RateLimiter#copiesSent}), for the usage writer's last flush.
   */
  @Override
  public Future<Void> copiesSent() {
    return limiter.copiesSent();
  }

  /**
   * Stops the replayer after trying, for up to {@code timeoutMs}, to hand the settlements still waiting to Redis.
   */
  public Future<Void> close(long timeoutMs) {
    vertx.cancelTimer(retryTimer);
    vertx.cancelTimer(expireTimer);
    List<PendingSettlements.Pending> left = pending.take(Integer.MAX_VALUE);
    Future<Void> ended = allotments == null ? Future.succeededFuture() : allotments.close(timeoutMs);
    return Future.join(left.stream().map(p -> send(p, false)).toList()).compose(v -> ended, e -> ended)
        .timeout(timeoutMs, TimeUnit.MILLISECONDS)
        .<Void>mapEmpty()
        .otherwiseEmpty()
        .onComplete(v -> {
          List<PendingSettlements.Pending> lost = pending.take(Integer.MAX_VALUE);
          if (!lost.isEmpty()) {
            // Their usage rows and debits are in PostgreSQL already (written when Redis first refused them);
            // what is lost is only the hot-balance charge, which the next balance reload corrects.
            LOG.warn("{} settlements did not reach Redis before shutdown: {}", lost.size(),
                lost.stream().map(p -> p.usage().requestId()).toList());
          }
        })
        .eventually(probe::close);
  }

  /** The balance loader's failure, told apart from a Redis failure. */
  private static final class BalanceUnavailable extends RuntimeException {
    BalanceUnavailable(Throwable cause) {
      super(cause.getMessage(), cause, false, false);
    }
  }
}
