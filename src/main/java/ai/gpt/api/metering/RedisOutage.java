package ai.gpt.api.metering;

import io.vertx.core.Future;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tracks whether the limiter's Redis is failing, so an outage is logged once when it starts and once when it
 * ends, however many requests hit it in between.
 *
 * <p>Local overload is not an outage. A call refused by this process's own Redis pool queue never reached Redis;
 * a call that timed out may only have waited behind a burst in this process (its reply unread on a busy event
 * loop): an outage starts on those only if Redis answered no other call for as long, and then fails a PING of its
 * own ({@link RedisProbe}). An error reply, a refused or closed connection is Redis's, and starts one at once.
 */
final class RedisOutage {
  private static final Logger LOG = LoggerFactory.getLogger(RedisOutage.class);

  private final FailurePolicy policy;
  private final MeteringMetrics metrics;
  private final Runnable onRecovery;
  private final RedisProbe probe;
  private final long quietNanos;
  private volatile boolean down;
  /** When a call last succeeded; written only when it moved on by a millisecond, to keep the write rare. */
  private volatile long lastAnswerNanos = System.nanoTime();
  private long since;

  /** @param quietMs how long Redis must have answered no call before a timeout may be its fault */
  RedisOutage(FailurePolicy policy, MeteringMetrics metrics, Runnable onRecovery, RedisProbe probe, long quietMs) {
    this.quietNanos = quietMs * 1_000_000;
    this.policy = policy;
    this.metrics = metrics;
    this.onRecovery = onRecovery;
    this.probe = probe;
  }

  boolean down() {
    return down;
  }

  /** Whether some call got Redis's answer within the quiet period: Redis works, whatever one call waits for. */
  boolean answering() {
    return System.nanoTime() - lastAnswerNanos < quietNanos;
  }

  /**
   * A metering call failed.
   *
   * @return whether Redis is down (so the failure policy applies); false when the failure was this process's own
   *     overload and Redis answers
   */
  Future<Boolean> failed(Throwable cause) {
    if (down) {
      return Future.succeededFuture(true);
    }
    if (cause instanceof ConnectionPoolTooBusyException) {
      return Future.succeededFuture(false);
    }
    if (!(cause instanceof TimeoutException)) {
      start(cause);
      return Future.succeededFuture(true);
    }
    if (answering()) {
      // Other calls got their answers meanwhile: Redis works, and this one only waited behind this process.
      metrics.slowCall();
      return Future.succeededFuture(false);
    }
    return probe.ping().transform(pong -> {
      if (pong.succeeded() || answering()) {
        metrics.slowCall();
        return Future.succeededFuture(false);
      }
      start(cause);
      return Future.succeededFuture(true);
    });
  }

  /** Called after every successful call, so the common case is two volatile reads. */
  void succeeded() {
    long now = System.nanoTime();
    if (now - lastAnswerNanos > 1_000_000) {
      lastAnswerNanos = now;
    }
    if (down) {
      end();
    }
  }

  private synchronized void start(Throwable cause) {
    if (down) {
      return;
    }
    down = true;
    since = System.currentTimeMillis();
    metrics.outageStarted();
    LOG.error("Metering: Redis call failed ({}). Admission policy '{}': {}. Settlements are kept and replayed.",
        cause.toString(), policy.name().toLowerCase(),
        policy == FailurePolicy.CLOSED ? "answering 503" : "admitting on this replica's in-memory limits");
  }

  private synchronized void end() {
    if (!down) {
      return;
    }
    down = false;
    metrics.outageEnded();
    onRecovery.run();
    LOG.warn("Metering: Redis answers again after {} ms.", System.currentTimeMillis() - since);
  }
}
