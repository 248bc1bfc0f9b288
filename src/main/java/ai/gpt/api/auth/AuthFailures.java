package ai.gpt.api.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Failed /v1 authentications (no, malformed, unknown, revoked or expired key) per client address, in fixed
 * windows. Past {@link #LIMIT} failures an address is throttled until its window ends: its requests are refused
 * before any PostgreSQL lookup, so a flood of made-up keys costs neither a query each nor memory.
 *
 * <p>Kept in this replica's memory, not in Redis: the check runs before anything else on every unauthenticated
 * request, must cost nothing and must keep working while Redis is down (when /v1 may still serve under the open
 * failure policy). The price is that each replica counts on its own, so an address gets up to LIMIT failures per
 * replica per window. The map is bounded by size and age; an attacker with more addresses than it holds only
 * evicts counters, which weakens the throttle but never grows memory.
 */
public final class AuthFailures {
  static final int LIMIT = 20;
  static final Duration WINDOW = Duration.ofMinutes(1);
  static final long MAX_ADDRESSES = 100_000;

  /** Failures of one address in the window that began at {@code startMs}. */
  private record Window(long startMs, AtomicInteger failures) {}

  private final Cache<String, Window> windows =
      Caffeine.newBuilder().maximumSize(MAX_ADDRESSES).expireAfterWrite(WINDOW).build();
  private final AtomicLong throttled = new AtomicLong();

  /** 0 when the address may try a key, else the milliseconds until its window ends. */
  public long retryAfterMs(String address) {
    Window w = windows.getIfPresent(ClientAddress.limitKey(address));
    long wait = w == null ? 0 : w.startMs() + WINDOW.toMillis() - System.currentTimeMillis();
    return w != null && w.failures().get() >= LIMIT && wait > 0 ? wait : 0;
  }

  public void failed(String address) {
    // Created at the window's start and never rewritten, so the entry expires exactly when its window ends.
    windows.get(ClientAddress.limitKey(address), k -> new Window(System.currentTimeMillis(), new AtomicInteger()))
        .failures().incrementAndGet();
  }

  void countThrottled() {
    throttled.incrementAndGet();
  }

  /** Addresses with failures in their current window (approximate). */
  public long addresses() {
    return windows.estimatedSize();
  }

  /** Requests refused with 429 since start. */
  public long throttled() {
    return throttled.get();
  }
}
