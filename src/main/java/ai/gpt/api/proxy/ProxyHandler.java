package ai.gpt.api.proxy;

import ai.gpt.api.auth.ApiKey;
import ai.gpt.api.auth.AuthHandler;
import ai.gpt.api.catalog.ModelInfo;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.http.BoundedBody;
import ai.gpt.api.http.RequestIds;
import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.metering.AdmissionErrors;
import ai.gpt.api.metering.RequestMetering;
import ai.gpt.api.metrics.GatewayMetrics;
import ai.gpt.api.routing.Backend;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.routing.LocalFailures;
import ai.gpt.api.tracing.RequestSpan;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.RoutingContext;

/**
 * Relays one OpenAI request to a llama.cpp backend: validate and rewrite, admit it (limits and credit), pick the
 * least-loaded backend, retry on another one while nothing has been sent to the client, then relay the answer
 * (whole or as a stream) and settle it exactly once, whichever way it ends.
 */
public final class ProxyHandler implements Handler<RoutingContext> {
  private final Endpoint endpoint;
  /** Bodies up to this size (every ordinary chat request) are parsed on the event loop in well under 1 ms. */
  static final int INLINE_PARSE_BYTES = 64 * 1024;
  // Header names and values encoded once: Vert.x writes these without converting them again for every request.
  private static final CharSequence JSON = HttpHeaders.createOptimized("application/json");
  private static final CharSequence REQUEST_ID = HttpHeaders.createOptimized(RequestIds.HEADER);

  private final RequestPreparer preparer;
  private final BackendRegistry registry;
  private final HttpClient client;
  private final RequestMetering metering;
  private final GatewayMetrics metrics;
  private final long upstreamIdleTimeoutMs;
  private final long upstreamConnectTimeoutMs;
  private final UpstreamConnects connects = new UpstreamConnects();
  /** The trace stage of the upstream call, named once per handler rather than per request. */
  private final String upstreamStage;

  public ProxyHandler(Endpoint endpoint, RequestPreparer preparer, BackendRegistry registry, HttpClient client,
      RequestMetering metering, GatewayMetrics metrics, long upstreamConnectTimeoutMs, long upstreamIdleTimeoutMs) {
    this.endpoint = endpoint;
    this.preparer = preparer;
    this.registry = registry;
    this.client = client;
    this.metering = metering;
    this.metrics = metrics;
    this.upstreamConnectTimeoutMs = upstreamConnectTimeoutMs;
    this.upstreamIdleTimeoutMs = upstreamIdleTimeoutMs;
    this.upstreamStage = "llama.cpp " + endpoint.path();
  }

  @Override
  public void handle(RoutingContext ctx) {
    ApiKey key = AuthHandler.key(ctx);
    if (key.playground() && endpoint != Endpoint.CHAT) {
      ctx.fail(ApiError.of(403, "key_scope", "This Playground key may only call /v1/chat/completions and "
          + "/v1/models; create an API key for " + endpoint.path() + ".", null));
      return;
    }
    Buffer body = ctx.body().buffer();
    if (body == null || body.length() <= INLINE_PARSE_BYTES) {
      admit(ctx, key, preparer.prepare(endpoint, body, key));
      return;
    }
    // Parsing and checking a body of several MiB takes tens to hundreds of milliseconds: not on an event loop.
    ctx.vertx().executeBlocking(() -> preparer.prepare(endpoint, body, key), false).onComplete(prepared -> {
      if (prepared.failed()) {
        ctx.fail(prepared.cause());
      } else if (!ctx.response().closed()) {
        admit(ctx, key, prepared.result());
      }
    });
  }

  private void admit(RoutingContext ctx, ApiKey key, PreparedRequest request) {
    ModelInfo model = request.model();
    RequestTrace.of(ctx).model = model.id();
    AdmissionRequest admission = AdmissionRequest.of(RequestIds.get(ctx), key.orgId(), key.id(), key.orgLimits(),
        key.keyLimits(), request.promptEstimate(), request.promptBound(), request.maxTokens(), model.inputPriceMicrosPerM(),
        model.outputPriceMicrosPerM());
    Exchange ex = new Exchange(ctx, key, request, admission, registry.pool(model.id()), endpoint, metering, metrics);
    ex.span.set(RequestSpan.ORG, key.orgId());
    ex.span.set(RequestSpan.MODEL, model.id());
    ex.span.stage("admission");
    metering.admit(admission, model.id(), endpoint.metricName()).onComplete(decided -> {
      ex.span.setOnStage(RequestSpan.OUTCOME, decided.failed() ? "error"
          : decided.result().admitted() ? "admitted" : "refused");
      ex.span.endStage();
      if (decided.failed()) {
        ex.fail(decided.cause());
        return;
      }
      AdmissionResult result = decided.result();
      if (!ex.clientGone()) {
        result.rateLimitHeaders(ctx.response()::putHeader);
      }
      if (!result.admitted()) {
        ex.fail(AdmissionErrors.from(result, admission));
        return;
      }
      if (ex.admitted()) {
        attempt(ex);
      }
    });
  }

  private void attempt(Exchange ex) {
    Future<Backend> slot = ex.pool.acquire(ex.tried());
    ex.waitingFor(slot);
    slot.onComplete(acquired -> {
      if (acquired.failed()) {
        if (ex.clientGone()) {
          ex.abandon(TokenUsage.NONE);
          return;
        }
        ex.fail(acquired.cause());
        return;
      }
      Backend backend = acquired.result();
      if (ex.attemptStarted(backend)) {
        connects.start(backend, () -> connect(ex, backend));
      }
    });
  }

  /** Opens (or reuses) a connection to the backend, in its turn among this handler's connects, and sends. */
  private void connect(Exchange ex, Backend backend) {
    Context context = ex.ctx.vertx().getOrCreateContext();
    if (ex.clientGone()) {
      connects.done(backend, context);
      ex.attemptEnded();
      ex.abandon(TokenUsage.NONE);
      return;
    }
    long start = System.nanoTime();
    client.request(upstreamOptions(ex, backend)).onComplete(connected -> {
      boolean burst = connects.busy(backend);
      connects.done(backend, context);
      if (connected.failed()) {
        Throwable cause = connected.cause();
        // A connect that timed out while other connects waited their turn here, or that was handled late (this
        // event loop lagged), or to a backend that answered other requests meanwhile, says nothing about it.
        boolean ours = LocalFailures.isTimeout(cause) && (burst
            || LocalFailures.timedOutLate(cause, start, upstreamConnectTimeoutMs)
            || LocalFailures.answeredWithin(backend, 2 * upstreamConnectTimeoutMs));
        onUpstreamFailure(ex, backend, cause, ours);
        return;
      }
      HttpClientRequest req = connected.result();
      ex.sending(req);
      req.send(ex.request.upstreamBody()).onComplete(sent -> {
        if (sent.failed()) {
          onUpstreamFailure(ex, backend, sent.cause(), false);
        } else {
          onUpstreamResponse(ex, backend, sent.result());
        }
      });
    });
  }

  private RequestOptions upstreamOptions(Exchange ex, Backend backend) {
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setHost(backend.host())
        .setPort(backend.port())
        .setSsl(backend.ssl())
        .setURI(backend.path(endpoint.path()))
        .setIdleTimeout(upstreamIdleTimeoutMs)
        .putHeader(HttpHeaders.CONTENT_TYPE, JSON)
        .putHeader(REQUEST_ID, RequestIds.get(ex.ctx));
    if (ex.request.stream()) {
      // llama-server drops the connection after every stream anyway; saying so keeps it out of the pool.
      options.putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    }
    if (backend.apiKey() != null) {
      options.putHeader(HttpHeaders.AUTHORIZATION, "Bearer " + backend.apiKey());
    }
    ex.span.upstreamStage(upstreamStage, backend.id(), options);
    return options;
  }

  /**
   * @param overloaded whether the failure is a connect timeout that this process's own burst explains, not the
   *     backend (see {@link #connect})
   */
  private void onUpstreamFailure(Exchange ex, Backend backend, Throwable cause, boolean overloaded) {
    ex.attemptEnded();
    if (ex.clientGone()) {
      // The reset came from our side because the client left; once the request was sent, the prompt ran.
      ex.abandon(ex.sent() ? TokenUsage.promptOnly(ex.request.promptEstimate()) : TokenUsage.NONE);
      return;
    }
    String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    if (overloaded) {
      // The backend is fine: the same backend is tried again, and it is neither quarantined nor excluded.
      metrics.localUpstreamFailure(ex.request.model().id());
      if (ex.retry(false)) {
        attempt(ex);
      } else {
        ex.fail(ApiError.gatewayOverloaded());
      }
      return;
    }
    if (LocalFailures.isLocal(cause)) {
      // This process is out of descriptors or pool room: the backend is fine and another would fail the same way.
      metrics.localUpstreamFailure(ex.request.model().id());
      ex.fail(ApiError.unavailable("The gateway is temporarily out of connection resources. Please retry shortly."));
      return;
    }
    ex.pool.reportFailure(backend, reason);
    retryOrFail(ex, ApiError.upstreamFailed("The model backend could not be reached: " + reason));
  }

  private void retryOrFail(Exchange ex, ApiError error) {
    if (ex.retry(true)) {
      attempt(ex);
    } else {
      ex.fail(error);
    }
  }

  private void onUpstreamResponse(Exchange ex, Backend backend, HttpClientResponse response) {
    ex.firstByte();
    int status = response.statusCode();
    if (status >= 500) {
      // Nothing reached the client yet, so another backend can still answer. Only the message is read.
      BoundedBody.prefix(response, UpstreamBounds.MAX_ERROR_BYTES, ex::errorTooLarge).onComplete(body -> {
        ex.attemptEnded();
        if (ex.clientGone()) {
          ex.abandon(TokenUsage.NONE);
          return;
        }
        if (status != 500) {
          // 502/503/504 say the backend itself is unwell (503: still loading its model). A 500 is more
          // likely about this request, so the backend stays in rotation.
          ex.pool.reportFailure(backend, "HTTP " + status);
        }
        retryOrFail(ex, UpstreamErrors.from(status, body.succeeded() ? body.result() : null));
      });
      return;
    }
    ex.relaying();
    if (ex.request.stream() && status == 200) {
      new StreamRelay(ex, response).start();
    } else {
      new WholeRelay(ex, response).start();
    }
  }
}
