package ai.gpt.api.routing;

import io.netty.channel.ConnectTimeoutException;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Tells failures of this process apart from failures of a backend. Out of file descriptors, out of local ports or
 * socket buffers, or our own connection pool's wait queue full: the backend was never reached, so it must not be
 * quarantined (that turned a local overload into every healthy backend out of rotation).
 */
public final class LocalFailures {
  /** What the kernel (errno) or the JDK says when this process, not the peer, is out of something. */
  private static final List<String> LOCAL_MESSAGES = List.of(
      "too many open files", // EMFILE / ENFILE
      "no buffer space available", // ENOBUFS
      "cannot assign requested address", // EADDRNOTAVAIL: no free local port
      "cannot allocate memory"); // ENOMEM

  /**
   * How much later than its deadline a timeout may be noticed before the lateness itself says this process's event
   * loop was behind. On a responsive loop a 2 s timeout is handled within milliseconds of 2 s; under a burst of
   * thousands of requests (or a cold JIT) the loops ran seconds late, and every deadline "expired" though the peer
   * had answered and its answer waited, unread, in this process.
   */
  public static final long LAG_SLACK_MS = 250;

  /**
   * When each backend last answered a request of this process (response headers or a completed answer). Weak
   * keys: a backend no longer routed (removed, or gone from DNS) drops out once its last request has ended.
   */
  private static final Map<Backend, AtomicLong> LAST_ANSWER = Collections.synchronizedMap(new WeakHashMap<>());

  private LocalFailures() {}

  /**
   * The backend answered a request: a probe of it that times out meanwhile is this process's lag or the backend's
   * load, not a dead backend. Returns the backend's clock, so a caller reporting often can keep it.
   */
  public static AtomicLong answered(Backend backend) {
    AtomicLong last = LAST_ANSWER.computeIfAbsent(backend, b -> new AtomicLong());
    last.lazySet(System.nanoTime());
    return last;
  }

  /** Whether the backend answered a request of this process within the last {@code ms}. */
  public static boolean answeredWithin(Backend backend, long ms) {
    AtomicLong last = LAST_ANSWER.get(backend);
    return last != null && System.nanoTime() - last.get() < ms * 1_000_000;
  }

  /**
   * Whether a timeout for an operation started at {@code startNanos} with this deadline was handled so late that
   * the event loop handling it was lagging: then the timeout is this process's fault, not the peer's.
   */
  public static boolean timedOutLate(Throwable failure, long startNanos, long timeoutMs) {
    return isTimeout(failure) && System.nanoTime() - startNanos > (timeoutMs + LAG_SLACK_MS) * 1_000_000;
  }

  /**
   * True when the cause, or any it wraps, is a timeout (a connect or a pool wait that took too long): the backend's
   * fault only if this process was not itself flooding it or its own event loops.
   */
  public static boolean isTimeout(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof TimeoutException || t instanceof ConnectTimeoutException) {
        return true;
      }
    }
    return false;
  }

  /** True when the cause, or any cause it wraps, is a local resource limit. */
  public static boolean isLocal(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ConnectionPoolTooBusyException || t instanceof OutOfMemoryError) {
        return true;
      }
      String message = t.getMessage();
      if (message != null) {
        String lower = message.toLowerCase(Locale.ROOT);
        for (String local : LOCAL_MESSAGES) {
          if (lower.contains(local)) {
            return true;
          }
        }
      }
    }
    return false;
  }
}
