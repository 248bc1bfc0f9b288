package ai.gpt.api.error;

import ai.gpt.api.http.BodyLimit;
import ai.gpt.api.http.RequestIds;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one place where failures become HTTP responses, always as OpenAI-shaped JSON. */
public final class FailureHandler implements Handler<RoutingContext> {
  private static final Logger LOG = LoggerFactory.getLogger(FailureHandler.class);
  private FailureHandler() {}

  public static FailureHandler create() {
    return new FailureHandler();
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerResponse response = ctx.response();
    if (response.closed()) {
      // The client is gone (or the connection was cut as malformed or too slow, which was logged then):
      // nothing can be sent, and a client leaving is not a server error.
      LOG.debug("Failure after the connection closed on {}: {}", ctx.request().path(), String.valueOf(ctx.failure()));
      return;
    }
    if (response.headers().get(RequestIds.HEADER) == null) {
      // The router refused the request before any route ran (a path it cannot normalize, such as "*").
      response.putHeader(RequestIds.HEADER, RequestIds.generate());
    }
    ApiError error = toApiError(ctx);
    if (response.headWritten()) {
      // Headers are gone (a stream already started): the only honest thing left is to end it.
      if (!response.ended()) {
        response.end();
      }
      return;
    }
    send(response, error);
  }

  public static void send(HttpServerResponse response, ApiError error) {
    if (error.retryAfterSeconds() != null) {
      response.putHeader(HttpHeaders.RETRY_AFTER, String.valueOf(error.retryAfterSeconds()));
      response.putHeader("retry-after-ms", String.valueOf(error.retryAfterMs()));
    }
    response.setStatusCode(error.status())
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(error.toJson().toBuffer());
  }

  private ApiError toApiError(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (failure instanceof ApiError api) {
      return api;
    }
    return switch (ctx.statusCode()) {
      case 400 -> ApiError.invalidRequest("The request could not be read.", null);
      case 404 -> ApiError.notFound("Unknown path " + ctx.request().path());
      case 405 -> ApiError.methodNotAllowed();
      case 413 -> BodyLimit.of(ctx) == null
          ? ApiError.of(413, "request_too_large", "The request body is too large.", null)
          : ApiError.bodyTooLarge(BodyLimit.of(ctx));
      case 415 -> ApiError.unsupportedMediaType();
      // Vert.x's BodyHandler fails any Expect other than 100-continue with 417: the client's doing, not a 500
      case 417 -> ApiError.of(417, "expectation_failed", "Only 'Expect: 100-continue' is supported.", null);
      default -> {
        if (failure == null && ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
          // any other client error Vert.x reports by status alone stays that status, as OpenAI's JSON
          yield ApiError.of(ctx.statusCode(), "invalid_request",
              HttpResponseStatus.valueOf(ctx.statusCode()).reasonPhrase() + ".", null);
        }
        if (DependencyOutage.is(failure)) {
          LOG.warn("Dependency unreachable on {} {}: {}", ctx.request().method(), ctx.request().path(),
              String.valueOf(failure));
          yield ApiError.unavailable("A storage service is briefly unreachable; retry in a moment.");
        }
        LOG.error("Unhandled failure on {} {}", ctx.request().method(), ctx.request().path(), failure);
        yield ApiError.internal();
      }
    };
  }
}
