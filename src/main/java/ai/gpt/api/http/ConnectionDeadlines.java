package ai.gpt.api.http;

import ai.gpt.api.config.HttpSettings;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.metrics.GatewayMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The deadlines of one client connection, between the HTTP codec and Vert.x, on the connection's event loop:
 * <ul>
 *   <li>head: a request head must be complete {@code headerTimeoutMs} after the connection opened, or after the
 *   first byte of a following request on a kept-alive connection. A client trickling bytes does not extend it.
 *   Answered 408 if part of a head arrived, else the connection is just closed;</li>
 *   <li>body: the body must be complete {@code bodyTimeoutMs} after its head (408 if no response started);</li>
 *   <li>idle: a kept-alive connection with no request for {@code keepAliveTimeoutMs} is closed.</li>
 * </ul>
 * Nothing runs while a request is being answered: a stream waiting minutes for a slow model is never cut here
 * (the upstream idle timeout bounds that wait). Malformed chunked bodies are answered 400 here as well, since
 * Vert.x would only close the connection and report the decoder error as a failure of the route.
 */
final class ConnectionDeadlines extends ChannelDuplexHandler {
  private enum Kind { HEADER, BODY, IDLE }

  private final HttpSettings settings;
  private final GatewayMetrics metrics;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> timer;
  private Kind pending;
  /** Bytes of the next request head have arrived. */
  private boolean headBytes;
  /** A request head was read and its body is not complete yet. */
  private boolean readingBody;
  /** Requests read whose response has not ended (more than one when a client pipelines). */
  private int unanswered;
  /** The response to the oldest unanswered request has started (its head went out). */
  private boolean responseStarted;

  ConnectionDeadlines(HttpSettings settings, GatewayMetrics metrics) {
    this.settings = settings;
    this.metrics = metrics;
  }

  /** Notes the arrival of raw bytes; it sits before the decoder, where a partial head is still visible. */
  ChannelInboundHandlerAdapter byteWatch() {
    return new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext byteCtx, Object msg) {
        if (msg instanceof ByteBuf bytes && bytes.isReadable()) {
          bytesArrived();
        }
        byteCtx.fireChannelRead(msg);
      }
    };
  }

  @Override
  public void handlerAdded(ChannelHandlerContext context) {
    ctx = context;
    schedule(Kind.HEADER, settings.headerTimeoutMs());
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext context) {
    cancel();
  }

  @Override
  public void channelInactive(ChannelHandlerContext context) {
    cancel();
    context.fireChannelInactive();
  }

  @Override
  public void channelRead(ChannelHandlerContext context, Object msg) {
    if (msg instanceof HttpRequest) {
      headBytes = false;
      unanswered++;
      readingBody = true;
      schedule(Kind.BODY, settings.bodyTimeoutMs());
    } else if (msg instanceof HttpContent content && content.decoderResult().isFailure()) {
      ReferenceCountUtil.release(msg);
      metrics.protocolError(400);
      refuse(Kind.BODY, ApiError.malformedHttp(400, "invalid_http_request",
          "The request body is not valid chunked encoding."));
      return;
    }
    if (msg instanceof LastHttpContent) {
      readingBody = false;
      if (pending == Kind.BODY) {
        cancel();
      }
      awaitNextRequest();
    }
    context.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext context, Object msg, ChannelPromise promise) {
    boolean interim = msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.INFORMATIONAL;
    if (!interim) {
      if (msg instanceof HttpResponse) {
        responseStarted = true;
      }
      if (msg instanceof LastHttpContent && unanswered > 0) {
        unanswered--;
        responseStarted = false;
        awaitNextRequest();
      }
    }
    context.write(msg, promise);
  }

  private void bytesArrived() {
    if (!readingBody && !headBytes) {
      headBytes = true;
      if (pending == Kind.IDLE) {
        schedule(Kind.HEADER, settings.headerTimeoutMs());
      }
    }
  }

  /** After a complete exchange the connection waits for the next request, up to the keep-alive timeout. */
  private void awaitNextRequest() {
    if (!readingBody && unanswered == 0 && pending == null) {
      schedule(headBytes ? Kind.HEADER : Kind.IDLE,
          headBytes ? settings.headerTimeoutMs() : settings.keepAliveTimeoutMs());
    }
  }

  private void schedule(Kind kind, long delayMs) {
    cancel();
    pending = kind;
    timer = ctx.executor().schedule(() -> expired(kind), delayMs, TimeUnit.MILLISECONDS);
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    pending = null;
  }

  private void expired(Kind kind) {
    timer = null;
    pending = null;
    if (!ctx.channel().isActive()) {
      return;
    }
    metrics.connectionTimeout(kind.name().toLowerCase());
    switch (kind) {
      case IDLE -> ctx.close();
      case HEADER -> {
        if (headBytes) {
          refuse(kind, ApiError.requestTimeout("The request headers were not received in time."));
        } else {
          ctx.close();
        }
      }
      case BODY -> refuse(kind, ApiError.requestTimeout("The request body was not received in time."));
    }
  }

  /**
   * Answers and closes when a response is still possible: no response of this connection has started (else the
   * answer would land inside it) and no earlier pipelined request is still waiting for its own.
   */
  private void refuse(Kind kind, ApiError error) {
    cancel();
    boolean canAnswer = !responseStarted && (kind == Kind.HEADER ? unanswered == 0 : unanswered == 1);
    String id = RequestIds.generate();
    ProtocolErrors.warn(ctx.channel().remoteAddress(), error, id);
    if (canAnswer) {
      ctx.writeAndFlush(ProtocolErrors.response(error, id)).addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.close();
    }
  }
}
