package ai.gpt.api.http;

import ai.gpt.api.config.HttpSettings;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.metrics.GatewayMetrics;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.impl.ConnectionBase;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps client connections from exhausting the process: one count of open connections shared by every event loop's
 * server, a refusal above {@link HttpSettings#maxConnections()} (so descriptors stay free for the operator port,
 * PostgreSQL, Redis and the backends), and per-connection deadlines ({@link ConnectionDeadlines}) and strict
 * framing ({@link StrictRequestDecoder}) installed in each accepted connection's pipeline.
 *
 * <p>This reaches below Vert.x's public API (its Netty pipeline) because Vert.x has no header or body read
 * timeout: its idle timeout counts any byte, so a client trickling one byte a second is never cut, and it would
 * also cut a request waiting minutes, silently, for a slow model. It uses Vert.x internals (ConnectionBase, the
 * pipeline handler names, VertxHttpRequestDecoder): on a Vert.x upgrade, ConnectionLimitsTest and HttpHygieneTest
 * say whether they still hold.
 */
public final class ConnectionGuard {
  private final HttpSettings settings;
  private final GatewayMetrics metrics;
  private final AtomicInteger open = new AtomicInteger();

  public ConnectionGuard(HttpSettings settings, GatewayMetrics metrics) {
    this.settings = settings;
    this.metrics = metrics;
    metrics.openConnections(open);
  }

  /** Server options the guard relies on: its pipeline must be HTTP/1.1 from the first byte (no h2c sniffing). */
  public HttpServerOptions configure(HttpServerOptions options) {
    return options.setHttp2ClearTextEnabled(false).setIdleTimeout(0);
  }

  /** The public server's connection handler, called on the connection's event loop before any request. */
  public void accept(HttpConnection connection, HttpServerOptions options) {
    ChannelHandlerContext vertxHandler = ((ConnectionBase) connection).channelHandlerContext();
    Channel channel = vertxHandler.channel();
    int count = open.incrementAndGet();
    channel.closeFuture().addListener(closed -> open.decrementAndGet());
    if (count > settings.maxConnections()) {
      metrics.connectionRefused();
      channel.config().setAutoRead(false); // no request of this connection is read, let alone served
      // Written through the HTTP encoder before any request is read; the client reads it as the answer.
      vertxHandler.writeAndFlush(ProtocolErrors.response(ApiError.connectionLimit(), RequestIds.generate()))
          .addListener(ChannelFutureListener.CLOSE);
      return;
    }
    ChannelPipeline pipeline = channel.pipeline();
    if (pipeline.get("httpDecoder") == null) {
      return; // already closed (its handlers removed): nothing left to guard
    }
    pipeline.replace("httpDecoder", "httpDecoder", new StrictRequestDecoder(options));
    ConnectionDeadlines deadlines = new ConnectionDeadlines(settings, metrics);
    pipeline.addFirst("requestBytes", deadlines.byteWatch());
    pipeline.addBefore("handler", "deadlines", deadlines);
  }
}
