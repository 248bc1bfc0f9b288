package ai.gpt.api.routing;

import io.vertx.core.http.ConnectionPoolTooBusyException;
import java.util.List;
import java.util.Locale;

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

  private LocalFailures() {}

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
