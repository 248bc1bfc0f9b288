package ai.gpt.api.proxy;

import ai.gpt.api.routing.Backend;
import io.vertx.core.Context;
import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Bounds the upstream connections one proxy handler (one endpoint on one event loop) is opening to a backend at
 * once; the rest wait here, in order, for one of those to be up. A burst of thousands of requests, each with a
 * slot on a big backend, otherwise opened thousands of sockets in the same instant: the backend's accept backlog
 * overflowed, connects timed out, and a healthy backend was quarantined for this process's own burst. Confined to
 * the handler's event loop, so nothing here is locked.
 */
final class UpstreamConnects {
  /** Well under a listener's default accept backlog (4,096 on Linux), even with every handler of a gateway. */
  static final int MAX_CONNECTING = 64;

  private final Map<Backend, Connecting> byBackend = new IdentityHashMap<>();

  private static final class Connecting {
    int count;
    /** Allocated only once connects have to wait. */
    ArrayDeque<Runnable> waiting;
  }

  /** Runs {@code connect} now or after earlier connects to the backend; it must call {@link #done} once. */
  void start(Backend backend, Runnable connect) {
    Connecting c = byBackend.computeIfAbsent(backend, b -> new Connecting());
    if (c.count < MAX_CONNECTING) {
      c.count++;
      connect.run();
    } else {
      if (c.waiting == null) {
        c.waiting = new ArrayDeque<>();
      }
      c.waiting.add(connect);
    }
  }

  /** A connect to the backend ended (connected or failed): the next waiting one starts, as a new task. */
  void done(Backend backend, Context context) {
    Connecting c = byBackend.get(backend);
    Runnable next = c.waiting == null ? null : c.waiting.poll();
    if (next == null) {
      c.count--;
      if (c.count == 0) {
        byBackend.remove(backend);
      }
    } else {
      context.runOnContext(v -> next.run());
    }
  }

  /** Whether connects to the backend are waiting their turn here (this process is bursting to it). */
  boolean busy(Backend backend) {
    Connecting c = byBackend.get(backend);
    return c != null && c.waiting != null && !c.waiting.isEmpty();
  }
}
