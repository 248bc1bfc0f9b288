package ai.gpt.api.webhooks;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The delay before a message's (a webhook's, a status e-mail's) next attempt: base × 2^(attempt − 1), at most max,
 * then "equal jitter" (a random value between half and all of it), so endpoints that fail together do not get their
 * retries back together.
 */
public final class Backoff {
  private final long baseMs;
  private final long maxMs;

  public Backoff(long baseMs, long maxMs) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /** @param attempt the attempt that just failed, from 1 */
  public long delayMs(int attempt) {
    int doublings = Math.min(Math.max(attempt - 1, 0), 40);
    long exponential = baseMs > (maxMs >> doublings) ? maxMs : Math.min(maxMs, baseMs << doublings);
    long half = exponential / 2;
    return half + ThreadLocalRandom.current().nextLong(exponential - half + 1);
  }
}
