package ai.gpt.api.limits;

/**
 * Tuning of admission and settlement.
 *
 * @param reservationTtlMs        lifetime of a request's reservation record, concurrency lease and credit hold; a
 *                                request that has not settled by then (its gateway died) frees them. Default 1 h.
 * @param balanceTtlMs            TTL of the hot balance and the holds, refreshed by every admission and settlement;
 *                                an idle organization's balance is reloaded from PostgreSQL. Default 7 days.
 * @param settledTtlMs            how long a settled request id is remembered (a settlement repeated within it changes
 *                                nothing). Default 1 h: the marker outnumbers every other key (one per request), and
 *                                a repeat after it expired is still billed once: PostgreSQL stores each request id
 *                                once, and the only repeats, replays after a Redis outage, drop the hot balance so it
 *                                reloads from the ledger (Metering). Request ids are the gateway's own, never reused.
 * @param concurrencyRetryAfterMs Retry-After suggested when the concurrency limit is full. Default 1 s.
 * @param minuteMs                length of the "minute" window (tests shorten the windows; production keeps them)
 * @param hourMs                  length of the "hour" window
 * @param dayMs                   length of the "day" window
 */
public record LimiterSettings(long reservationTtlMs, long balanceTtlMs, long settledTtlMs,
    long concurrencyRetryAfterMs, long minuteMs, long hourMs, long dayMs) {

  public LimiterSettings {
    if (reservationTtlMs < 1 || balanceTtlMs < 1 || settledTtlMs < 1 || concurrencyRetryAfterMs < 0
        || minuteMs < 1 || hourMs < 1 || dayMs < 1) {
      throw new IllegalArgumentException("invalid limiter settings: " + this);
    }
  }

  public static LimiterSettings defaults() {
    return new LimiterSettings(3_600_000L, 7 * 86_400_000L, 3_600_000L, 1_000L,
        Window.MINUTE.defaultMillis(), Window.HOUR.defaultMillis(), Window.DAY.defaultMillis());
  }

  public long windowMs(Window window) {
    return switch (window) {
      case MINUTE -> minuteMs;
      case HOUR -> hourMs;
      case DAY -> dayMs;
    };
  }

  public LimiterSettings withWindows(long minuteMs, long hourMs, long dayMs) {
    return new LimiterSettings(reservationTtlMs, balanceTtlMs, settledTtlMs, concurrencyRetryAfterMs,
        minuteMs, hourMs, dayMs);
  }

  public LimiterSettings withReservationTtlMs(long ms) {
    return new LimiterSettings(ms, balanceTtlMs, settledTtlMs, concurrencyRetryAfterMs, minuteMs, hourMs, dayMs);
  }
}
