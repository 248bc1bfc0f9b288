package ai.gpt.api.proxy;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.routing.Backend;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;

/**
 * Relays a non-streamed answer: the backend's body is passed through unchanged (llama.cpp's extra fields such
 * as {@code timings} included); its usage is read for metering.
 */
final class WholeRelay {
  private final ProxyHandler.Exchange ex;
  private final Backend backend;
  private final HttpClientResponse upstream;

  WholeRelay(ProxyHandler.Exchange ex, Backend backend, HttpClientResponse upstream) {
    this.ex = ex;
    this.backend = backend;
    this.upstream = upstream;
  }

  void start() {
    upstream.body().onComplete(ar -> {
      ex.finishUpstream();
      ex.pool.release(backend);
      if (ar.failed()) {
        // The backend died mid-body: nothing was sent to the client yet, but the work may have run; the
        // prompt estimate is billed as estimated, and the client gets a clean error.
        ex.settle(backend, new TokenUsage(ex.request.promptEstimate(), 0, 0, true), 502);
        ex.fail(ApiError.upstreamFailed("The model backend failed while answering."));
        return;
      }
      int status = upstream.statusCode();
      if (status != 200) {
        ex.settle(backend, new TokenUsage(0, 0, 0, false), status);
        ex.fail(UpstreamErrors.from(status, ar.result()));
        return;
      }
      ex.firstToken();
      TokenUsage tokens = readUsage(ar.result());
      ex.settle(backend, tokens, ex.clientGone ? 499 : 200);
      if (ex.clientGone) {
        return;
      }
      HttpServerResponse out = ex.ctx.response();
      String type = upstream.getHeader(HttpHeaders.CONTENT_TYPE);
      out.putHeader(HttpHeaders.CONTENT_TYPE, type == null ? "application/json" : type).end(ar.result());
    });
  }

  private TokenUsage readUsage(Buffer body) {
    TokenUsage tokens = null;
    try {
      tokens = TokenUsage.from(new JsonObject(body).getJsonObject("usage"));
    } catch (RuntimeException notJson) {
      // fall back to the estimate below
    }
    return tokens != null ? tokens : new TokenUsage(ex.request.promptEstimate(), ex.request.maxTokens(), 0, true);
  }
}
