package ai.gpt.api.testing;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP forwarder on a free local port, put between a client and a server (e.g. a pool and PostgreSQL) to
 * make the server unreachable on demand: {@link #cut()} drops every connection and refuses new ones,
 * {@link #stall()} keeps connections open but forwards nothing (a hung network), {@link #restore()} ends either.
 */
public final class TcpProxy {
  private enum Mode { OPEN, CUT, STALLED }

  private final NetServer server;
  private final NetClient client;
  private final String targetHost;
  private final int targetPort;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private volatile Mode mode = Mode.OPEN;
  /** While set: the first client chunk containing it is held back and the proxy stalls (see {@link #stallOn}). */
  private volatile String stallMarker;
  private final Promise<Void> stalledOnMarker = Promise.promise();

  private TcpProxy(Vertx vertx, String targetHost, int targetPort) {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.client = vertx.createNetClient();
    this.server = vertx.createNetServer().connectHandler(this::accept);
  }

  public static Future<TcpProxy> start(Vertx vertx, String targetHost, int targetPort) {
    TcpProxy proxy = new TcpProxy(vertx, targetHost, targetPort);
    return proxy.server.listen(0, "127.0.0.1").map(s -> proxy);
  }

  public int port() {
    return server.actualPort();
  }

  /** Connections accepted so far (including refused ones). */
  public int accepted() {
    return accepted.get();
  }

  /** Closes every forwarded connection and closes new ones at once, until {@link #restore()}. */
  public void cut() {
    mode = Mode.CUT;
    for (Link link : links) {
      link.close();
    }
  }

  /** Stops forwarding in both directions; connections (old and new) hang until {@link #restore()}. */
  public void stall() {
    mode = Mode.STALLED;
    for (Link link : links) {
      link.down.pause();
      link.up.pause();
    }
  }

  /**
   * Forwards as usual until a client sends a chunk containing {@code marker} (e.g. the SHA of one Lua script in an
   * EVALSHA), then stalls everything, that chunk included, as {@link #stall()}: the client is left waiting at
   * exactly that step. The returned future completes when it happens.
   */
  public Future<Void> stallOn(String marker) {
    stallMarker = marker;
    return stalledOnMarker.future();
  }

  public void restore() {
    mode = Mode.OPEN;
    for (Link link : links) {
      link.down.resume();
      link.up.resume();
    }
  }

  public Future<Void> close() {
    cut();
    return server.close().compose(v -> client.close());
  }

  private void accept(NetSocket down) {
    accepted.incrementAndGet();
    if (mode == Mode.CUT) {
      down.close();
      return;
    }
    down.pause();
    client.connect(targetPort, targetHost).onComplete(ar -> {
      if (ar.failed() || mode == Mode.CUT) {
        down.close();
        if (ar.succeeded()) {
          ar.result().close();
        }
        return;
      }
      NetSocket up = ar.result();
      Link link = new Link(down, up);
      links.add(link);
      forward(down, up, true);
      forward(up, down, false);
      down.closeHandler(v -> link.close());
      up.closeHandler(v -> link.close());
      down.exceptionHandler(e -> link.close());
      up.exceptionHandler(e -> link.close());
      if (mode == Mode.STALLED) {
        up.pause();
      } else {
        down.resume();
      }
    });
  }

  private void forward(NetSocket from, NetSocket to, boolean fromClient) {
    from.handler(buf -> {
      String marker = stallMarker;
      if (fromClient && marker != null && buf.toString(StandardCharsets.ISO_8859_1).contains(marker)) {
        stallMarker = null;
        stall();
        stalledOnMarker.tryComplete();
        return;
      }
      to.write(buf);
      if (to.writeQueueFull()) {
        from.pause();
        to.drainHandler(v -> {
          if (mode == Mode.OPEN) {
            from.resume();
          }
        });
      }
    });
  }

  private final class Link {
    final NetSocket down;
    final NetSocket up;

    Link(NetSocket down, NetSocket up) {
      this.down = down;
      this.up = up;
    }

    void close() {
      if (links.remove(this)) {
        down.close();
        up.close();
      }
    }
  }
}
