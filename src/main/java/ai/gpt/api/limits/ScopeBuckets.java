package ai.gpt.api.limits;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The six buckets of one scope (an organization or a key) as {@code admit_v6.lua} stores them in
 * {@link RedisKeys#limits}: 18 little-endian doubles, per bucket (requests minute, hour, day, tokens minute, hour,
 * day) its level, the ms of that level, and the ms after which it is full and forgotten (0 = no state: full).
 * Packed rather than a hash because a script call pays for every field it reads or writes.
 */
public final class ScopeBuckets {
  private static final int DOUBLES = 18;
  private static final ScopeBuckets EMPTY = new ScopeBuckets(new double[DOUBLES]);

  private final double[] values;

  private ScopeBuckets(double[] values) {
    this.values = values;
  }

  /** From the stored value; null (no key) is every bucket full. */
  public static ScopeBuckets decode(byte[] packed) {
    if (packed == null) {
      return EMPTY;
    }
    if (packed.length != DOUBLES * Double.BYTES) {
      throw new IllegalArgumentException("packed buckets of " + packed.length + " bytes, expected "
          + DOUBLES * Double.BYTES);
    }
    ByteBuffer in = ByteBuffer.wrap(packed).order(ByteOrder.LITTLE_ENDIAN);
    double[] values = new double[DOUBLES];
    for (int i = 0; i < DOUBLES; i++) {
      values[i] = in.getDouble();
    }
    return new ScopeBuckets(values);
  }

  /** The stored level of the bucket, or null when it has no state (full). */
  public Double storedLevel(Bucket b, long nowMs) {
    int at = offset(b);
    return values[at + 2] > nowMs ? values[at] : null;
  }

  /** The bucket's level at {@code nowMs} ({@link TokenBucket#level}). */
  public double level(Bucket b, long cap, long windowMs, long nowMs) {
    int at = offset(b);
    return TokenBucket.level(storedLevel(b, nowMs), (long) values[at + 1], cap, windowMs, nowMs);
  }

  private static int offset(Bucket b) {
    return ((b.kind() == Bucket.Kind.REQUESTS ? 0 : 3) + b.window().ordinal()) * 3;
  }
}
