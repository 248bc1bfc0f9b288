package ai.gpt.api.limits;

/**
 * Limits of an organization or of one key. A null field is unlimited. Values must be at least 1.
 * Key limits narrow the organization's: both are enforced, each in its own buckets.
 *
 * @param concurrency concurrent requests per key (only meaningful in key limits; ignored for the org)
 */
public record Limits(Long rpm, Long rph, Long rpd, Long tpm, Long tph, Long tpd, Integer concurrency) {
  public static final Limits UNLIMITED = new Limits(null, null, null, null, null, null, null);

  public Limits {
    positive("rpm", rpm);
    positive("rph", rph);
    positive("rpd", rpd);
    positive("tpm", tpm);
    positive("tph", tph);
    positive("tpd", tpd);
    if (concurrency != null && concurrency < 1) {
      throw new IllegalArgumentException("concurrency must be >= 1 or unlimited, got " + concurrency);
    }
  }

  /** The capacity of one bucket kind and window; null when unlimited. */
  public Long get(Bucket.Kind kind, Window window) {
    return switch (kind) {
      case REQUESTS -> switch (window) {
        case MINUTE -> rpm;
        case HOUR -> rph;
        case DAY -> rpd;
      };
      case TOKENS -> switch (window) {
        case MINUTE -> tpm;
        case HOUR -> tph;
        case DAY -> tpd;
      };
    };
  }

  public static Builder builder() {
    return new Builder();
  }

  private static void positive(String name, Long value) {
    if (value != null && value < 1) {
      throw new IllegalArgumentException(name + " must be >= 1 or unlimited, got " + value);
    }
  }

  /** Fluent construction; unset fields stay unlimited. */
  public static final class Builder {
    private Long rpm;
    private Long rph;
    private Long rpd;
    private Long tpm;
    private Long tph;
    private Long tpd;
    private Integer concurrency;

    public Builder rpm(long v) {
      rpm = v;
      return this;
    }

    public Builder rph(long v) {
      rph = v;
      return this;
    }

    public Builder rpd(long v) {
      rpd = v;
      return this;
    }

    public Builder tpm(long v) {
      tpm = v;
      return this;
    }

    public Builder tph(long v) {
      tph = v;
      return this;
    }

    public Builder tpd(long v) {
      tpd = v;
      return this;
    }

    public Builder concurrency(int v) {
      concurrency = v;
      return this;
    }

    /** Sets the limit of one kind and window (null = unlimited). */
    public Builder set(Bucket.Kind kind, Window window, Long v) {
      switch (kind) {
        case REQUESTS -> {
          switch (window) {
            case MINUTE -> rpm = v;
            case HOUR -> rph = v;
            case DAY -> rpd = v;
          }
        }
        case TOKENS -> {
          switch (window) {
            case MINUTE -> tpm = v;
            case HOUR -> tph = v;
            case DAY -> tpd = v;
          }
        }
      }
      return this;
    }

    public Limits build() {
      return new Limits(rpm, rph, rpd, tpm, tph, tpd, concurrency);
    }
  }
}
