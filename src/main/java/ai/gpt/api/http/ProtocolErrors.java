package ai.gpt.api.http;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.error.FailureHandler;
import ai.gpt.api.metrics.GatewayMetrics;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers for requests that never reach a route: malformed HTTP (Vert.x's invalid-request handler), requests cut
 * by a deadline and connections refused above the cap. Every answer is OpenAI's error JSON with its own
 * {@code x-request-id} and {@code Connection: close}, and is logged as one WARN line without a stack trace:
 * a malformed request is the client's problem, and an attacker must not be able to fill the log with traces.
 */
public final class ProtocolErrors {
  private static final Logger LOG = LoggerFactory.getLogger(ProtocolErrors.class);
  private final GatewayMetrics metrics;

  public ProtocolErrors(GatewayMetrics metrics) {
    this.metrics = metrics;
  }

  /** The public server's invalid-request handler: the head could not be decoded or was refused as unsafe. */
  public void invalidRequest(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    ApiError error = classify(cause);
    String id = RequestIds.generate();
    metrics.protocolError(error.status());
    warn(request.remoteAddress(), error, id);
    request.response()
        .putHeader(RequestIds.HEADER, id)
        .putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    // Vert.x closes the connection once this response is written: nothing after a bad head can be trusted.
    FailureHandler.send(request.response(), error);
  }

  /**
   * The server's exception handler. Protocol errors were answered and logged where they were found (this sees
   * their decoder causes again when Vert.x closes the connection), and a client resetting its connection is
   * routine: debug only, so a client cannot fill the log.
   */
  public void connectionException(Throwable error) {
    LOG.debug("Client connection error: {}", error.toString());
  }

  /** A Netty response for answers written below Vert.x (the connection guard), closing the connection. */
  static FullHttpResponse response(ApiError error, String requestId) {
    byte[] body = error.toJson().toBuffer().getBytes();
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(error.status()), Unpooled.wrappedBuffer(body));
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
        .set(RequestIds.HEADER, requestId);
    if (error.retryAfterSeconds() != null) {
      response.headers()
          .set(HttpHeaderNames.RETRY_AFTER, error.retryAfterSeconds())
          .set("retry-after-ms", error.retryAfterMs());
    }
    return response;
  }

  static void warn(Object remote, ApiError error, String requestId) {
    LOG.warn("Refused a request from {}: {} {} ({}) request_id={}", remote, error.status(), error.code(),
        oneLine(error.getMessage()), requestId);
  }

  private static ApiError classify(Throwable cause) {
    if (cause instanceof MalformedRequest malformed) {
      return malformed.error();
    }
    if (cause instanceof TooLongHttpLineException) {
      return ApiError.malformedHttp(414, "uri_too_long", "The request line is longer than the server accepts.");
    }
    if (cause instanceof TooLongHttpHeaderException) {
      return ApiError.malformedHttp(431, "headers_too_large", "The request headers are larger than the server accepts.");
    }
    return ApiError.malformedHttp(400, "invalid_http_request", "The request is not valid HTTP/1.1"
        + (cause == null || cause.getMessage() == null ? "." : ": " + oneLine(cause.getMessage())));
  }

  /** Keeps client-controlled text from breaking a log line or growing without bound. */
  private static String oneLine(String text) {
    String flat = text.replaceAll("[\\p{Cntrl}]", "?");
    return flat.length() > 200 ? flat.substring(0, 200) + "..." : flat;
  }
}
