package ai.gpt.api.limits;

/**
 * The token-bucket arithmetic, the one Java definition of it (the Lua one is {@code lua/token_bucket.lua};
 * {@code TokenBucketAgreementTest} runs both on the same inputs and requires identical results, so change them
 * together). A bucket of capacity {@code cap} refills continuously, {@code cap} per window of {@code windowMs};
 * stored is its level at some time. A missing level is a full bucket; a stored time in the future (another
 * clock) counts as no time elapsed.
 */
public final class TokenBucket {
  /** Levels are doubles: a level within this of a whole unit counts as that unit. */
  static final double EPS = 1e-9;

  private TokenBucket() {}

  /** The level at {@code nowMs}: min(cap, v + (now - t) * cap / W); {@code cap} when nothing is stored. */
  public static double level(Double v, Long atMs, long cap, long windowMs, long nowMs) {
    if (v == null) {
      return cap;
    }
    double elapsed = atMs == null ? 0 : Math.max(0, nowMs - atMs);
    return Math.min(cap, v + elapsed * cap / windowMs);
  }

  /** Whole units available, never negative. */
  public static long remaining(double level) {
    return Math.max(0, (long) Math.floor(level + EPS));
  }

  /** Ms until the bucket is full again (0 when full). */
  public static long msUntilFull(double level, long cap, long windowMs) {
    return Math.max(0, (long) Math.ceil((cap - level) * windowMs / cap));
  }

  /** 0 when {@code amount} can be taken now, else ms until it can; -1 when never (it exceeds the capacity). */
  public static long msUntilAvailable(double level, long amount, long cap, long windowMs) {
    if (level + EPS >= amount) {
      return 0;
    }
    if (amount > cap) {
      return -1;
    }
    return (long) Math.ceil((amount - level) * windowMs / cap);
  }
}
