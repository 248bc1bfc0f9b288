package ai.gpt.api.proxy;

import ai.gpt.api.auth.ApiKey;
import ai.gpt.api.auth.AuthHandler;
import ai.gpt.api.billing.Money;
import ai.gpt.api.catalog.ModelInfo;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.http.RequestIds;
import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.limits.SettledUsage;
import ai.gpt.api.metering.AdmissionErrors;
import ai.gpt.api.metering.Metering;
import ai.gpt.api.metrics.GatewayMetrics;
import ai.gpt.api.routing.Backend;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.routing.LocalFailures;
import ai.gpt.api.routing.ModelPool;
import ai.gpt.api.tracing.RequestSpan;
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
import java.util.HashSet;
import java.util.Set;

/**
 * Relays one OpenAI request to a llama.cpp backend: validate and rewrite, admit it (limits and credit), pick the
 * least-loaded backend, retry on another one while nothing has been sent to the client, then relay the answer
 * (whole or as a stream) and settle it exactly once, whichever way it ends.
 */
public final class ProxyHandler implements Handler<RoutingContext> {
  /** Retries after the first attempt, only for failures before any response byte reached the client. */
  static final int MAX_RETRIES = 2;

  private final Endpoint endpoint;
  /** Bodies up to this size (every ordinary chat request) are parsed on the event loop in well under 1 ms. */
  static final int INLINE_PARSE_BYTES = 64 * 1024;

  private final RequestPreparer preparer;
  private final BackendRegistry registry;
  private final HttpClient client;
  private final Metering metering;
  private final GatewayMetrics metrics;
  private final long upstreamIdleTimeoutMs;

  public ProxyHandler(Endpoint endpoint, RequestPreparer preparer, BackendRegistry registry, HttpClient client,
      Metering metering, GatewayMetrics metrics, long upstreamIdleTimeoutMs) {
    this.endpoint = endpoint;
    this.preparer = preparer;
    this.registry = registry;
    this.client = client;
    this.metering = metering;
    this.metrics = metrics;
    this.upstreamIdleTimeoutMs = upstreamIdleTimeoutMs;
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
        key.keyLimits(), request.promptEstimate(), request.maxTokens(), model.inputPriceMicrosPerM(),
        model.outputPriceMicrosPerM());
    Exchange exchange = new Exchange(ctx, key, request, admission, registry.pool(model.id()));
    ctx.response().closeHandler(v -> exchange.clientClosed());
    exchange.span.set(RequestSpan.ORG, key.orgId());
    exchange.span.set(RequestSpan.MODEL, model.id());
    exchange.span.stage("admission");
    metering.admit(admission, model.id(), endpoint.metricName()).onComplete(decided -> {
      exchange.span.setOnStage(RequestSpan.OUTCOME, decided.failed() ? "error"
          : decided.result().admitted() ? "admitted" : "refused");
      exchange.span.endStage();
      if (decided.failed()) {
        exchange.fail(decided.cause());
        return;
      }
      AdmissionResult result = decided.result();
      if (!exchange.clientGone) {
        result.rateLimitHeaders().forEach(ctx.response()::putHeader);
      }
      if (!result.admitted()) {
        exchange.fail(AdmissionErrors.from(result, admission));
        return;
      }
      exchange.admitted = true;
      if (exchange.clientGone) {
        exchange.abandon(TokenUsage.NONE);
        return;
      }
      attempt(exchange);
    });
  }

  private void attempt(Exchange ex) {
    ex.pool.acquire(ex.tried).onComplete(acquired -> {
      if (acquired.failed()) {
        ex.fail(acquired.cause());
        return;
      }
      Backend backend = acquired.result();
      if (ex.clientGone) {
        ex.pool.release(backend);
        ex.abandon(TokenUsage.NONE);
        return;
      }
      ex.start(backend);
      client.request(upstreamOptions(ex, backend))
          .compose(req -> {
            ex.upstream = req;
            return req.send(ex.request.upstreamBody());
          })
          .onComplete(sent -> {
            if (sent.failed()) {
              onUpstreamFailure(ex, backend, sent.cause());
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
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(RequestIds.HEADER, RequestIds.get(ex.ctx));
    if (ex.request.stream()) {
      // llama-server drops the connection after every stream anyway; saying so keeps it out of the pool.
      options.putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    }
    if (backend.apiKey() != null) {
      options.putHeader(HttpHeaders.AUTHORIZATION, "Bearer " + backend.apiKey());
    }
    ex.span.upstreamStage("llama.cpp " + endpoint.path(), backend.id(), options);
    return options;
  }

  private void onUpstreamFailure(Exchange ex, Backend backend, Throwable cause) {
    ex.finishUpstream();
    ex.pool.release(backend);
    if (ex.clientGone) {
      // The reset came from our side because the client left; once the request was sent, the prompt ran.
      ex.abandon(ex.upstream == null ? TokenUsage.NONE : TokenUsage.promptOnly(ex.request.promptEstimate()));
      return;
    }
    String reason = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
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
    if (ex.retries < MAX_RETRIES) {
      ex.retries++;
      metrics.retry(ex.request.model().id());
      attempt(ex);
    } else {
      ex.fail(error);
    }
  }

  private void onUpstreamResponse(Exchange ex, Backend backend, HttpClientResponse response) {
    ex.firstByte();
    int status = response.statusCode();
    if (status >= 500) {
      // Nothing reached the client yet, so another backend can still answer. 5xx bodies are small.
      response.body().onComplete(body -> {
        ex.finishUpstream();
        ex.pool.release(backend);
        if (ex.clientGone) {
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
    if (ex.request.stream() && status == 200) {
      new StreamRelay(ex, backend, response).start();
    } else {
      new WholeRelay(ex, backend, response).start();
    }
  }

  /** The state of one client request across attempts. */
  final class Exchange {
    final RoutingContext ctx;
    final ApiKey key;
    final PreparedRequest request;
    final AdmissionRequest admission;
    final ModelPool pool;
    final RequestTrace trace;
    final RequestSpan span;
    final Set<Backend> tried = new HashSet<>();
    final long startNanos = System.nanoTime();
    HttpClientRequest upstream;
    Backend backend;
    int retries;
    long attemptStart;
    long firstTokenNanos = -1;
    boolean admitted;
    boolean clientGone;
    boolean finished;

    Exchange(RoutingContext ctx, ApiKey key, PreparedRequest request, AdmissionRequest admission, ModelPool pool) {
      this.ctx = ctx;
      this.key = key;
      this.request = request;
      this.admission = admission;
      this.pool = pool;
      this.trace = RequestTrace.of(ctx);
      this.span = RequestSpan.of(ctx);
    }

    void start(Backend chosen) {
      backend = chosen;
      tried.add(chosen);
      trace.backendId = chosen.id();
      trace.attempts++;
      attemptStart = System.nanoTime();
      trace.attemptStartNanos = attemptStart;
      upstream = null;
    }

    void firstByte() {
      long ttfb = System.nanoTime() - attemptStart;
      trace.ttfbNanos = ttfb;
      metrics.upstreamTimeToFirstByte(request.model().id(), ttfb);
    }

    void firstToken() {
      if (firstTokenNanos < 0) {
        firstTokenNanos = System.nanoTime();
      }
    }

    void finishUpstream() {
      span.endStage();
      if (trace.attemptStartNanos != 0) {
        trace.upstreamNanos += System.nanoTime() - attemptStart;
        trace.attemptStartNanos = 0;
      }
    }

    void clientClosed() {
      if (finished || ctx.response().ended()) {
        return;
      }
      clientGone = true;
      if (upstream != null) {
        upstream.reset(); // stop generation upstream now rather than when llama.cpp notices
      }
    }

    /** Ends the request with an error; an admitted request is settled for nothing, since nothing was served. */
    void fail(Throwable cause) {
      settle(backend, TokenUsage.NONE, cause instanceof ApiError e ? e.status() : 500);
      if (!clientGone) {
        ctx.fail(cause);
      }
    }

    /** Settles a request whose client went away (499). */
    void abandon(TokenUsage tokens) {
      settle(backend, tokens, 499);
    }

    /**
     * Settles the request once, if it was admitted: prices the tokens and hands them to metering.
     *
     * @return the cost in micro-USD (0 when nothing is settled), once the settlement is durable: end the response
     *     only then, so nothing a client saw complete can go unbilled
     */
    Future<Long> settle(Backend used, TokenUsage tokens, int status) {
      if (finished || !admitted) {
        return Future.succeededFuture(0L);
      }
      finished = true;
      long now = System.nanoTime();
      long ttft = firstTokenNanos < 0 ? -1 : (firstTokenNanos - startNanos) / 1_000_000;
      long cost = price(tokens);
      span.set(RequestSpan.INPUT_TOKENS, (long) tokens.promptTokens());
      span.set(RequestSpan.OUTPUT_TOKENS, (long) tokens.completionTokens());
      span.set(RequestSpan.COST, cost);
      span.stage("settlement");
      return metering.settle(new SettledUsage(RequestIds.get(ctx), key.orgId(), key.id(), request.model().id(),
          used == null ? 0 : used.id(), endpoint.metricName(), tokens.promptTokens(), tokens.completionTokens(),
          tokens.cachedTokens(), cost, status, tokens.estimated(), (now - startNanos) / 1_000_000, ttft),
          admission.holdMicros()).map(cost).onComplete(settled -> span.endStage());
    }

    /** The exact charge for these tokens at the model's prices. */
    long price(TokenUsage tokens) {
      ModelInfo m = request.model();
      return Money.requestCost(tokens.promptTokens(), tokens.completionTokens(), m.inputPriceMicrosPerM(),
          m.outputPriceMicrosPerM());
    }
  }
}
