package ai.gpt.api.metering;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tracks whether the limiter's Redis is failing, so an outage is logged once when it starts and once when it
 * ends, however many requests hit it in between.
 */
final class RedisOutage {
  private static final Logger LOG = LoggerFactory.getLogger(RedisOutage.class);

  private final FailurePolicy policy;
  private final MeteringMetrics metrics;
  private final Runnable onRecovery;
  private volatile boolean down;
  private long since;

  RedisOutage(FailurePolicy policy, MeteringMetrics metrics, Runnable onRecovery) {
    this.policy = policy;
    this.metrics = metrics;
    this.onRecovery = onRecovery;
  }

  void failed(Throwable cause) {
    if (!down) {
      start(cause);
    }
  }

  /** Called after every successful call, so the common case is one volatile read. */
  void succeeded() {
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
