package ai.gpt.api.proxy;

import ai.gpt.api.auth.ApiKey;
import ai.gpt.api.billing.Money;
import ai.gpt.api.catalog.ModelInfo;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.http.RequestIds;
import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.SettledUsage;
import ai.gpt.api.metering.RequestMetering;
import ai.gpt.api.metrics.GatewayMetrics;
import ai.gpt.api.routing.Backend;
import ai.gpt.api.routing.LocalFailures;
import ai.gpt.api.routing.ModelPool;
import ai.gpt.api.tracing.RequestSpan;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.ext.web.RoutingContext;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle of one client request, and its single owner: ADMITTING, then (once metering admits it) ADMITTED,
 * UPSTREAM while an attempt holds a backend slot, RELAYING once an answer is being passed on, and one of the ends
 * SETTLED, FAILED or ABANDONED. The proxy, the relays and the client's close handler only report events; every
 * end goes through {@link #end}, which is the only place that settles, so a request is settled exactly once
 * however its ends race (the client leaving while the backend finishes, a backend error after a partial answer,
 * an idle timeout). All events run on the request's event loop.
 */
final class Exchange {
  enum State { ADMITTING, ADMITTED, UPSTREAM, RELAYING, SETTLED, FAILED, ABANDONED }

  private static final Logger LOG = LoggerFactory.getLogger(Exchange.class);

  /** Retries after the first attempt, only for failures before any response byte reached the client. */
  static final int MAX_RETRIES = 2;

  final RoutingContext ctx;
  final PreparedRequest request;
  final ModelPool pool;
  private Future<Backend> queued;
  final RequestSpan span;
  private final ApiKey key;
  private final AdmissionRequest admission;
  private final Endpoint endpoint;
  private final RequestMetering metering;
  private final GatewayMetrics metrics;
  private final RequestTrace trace;
  private final long startNanos = System.nanoTime();
  private State state = State.ADMITTING;
  /** Backends already tried; empty (and not allocated) until a retry needs to exclude one. */
  private Set<Backend> tried = Set.of();
  private Backend backend;
  /** The current attempt's request to the backend, once a connection carries it; reset if the client leaves. */
  private HttpClientRequest upstream;
  private boolean holdsSlot;
  private int retries;
  private long attemptStart;
  private long firstTokenNanos = -1;
  private boolean clientGone;
  /** The backend's "last answered" clock (see {@link LocalFailures#answered}), kept from the first byte. */
  private AtomicLong answerClock;

  Exchange(RoutingContext ctx, ApiKey key, PreparedRequest request, AdmissionRequest admission, ModelPool pool,
      Endpoint endpoint, RequestMetering metering, GatewayMetrics metrics) {
    this.ctx = ctx;
    this.key = key;
    this.request = request;
    this.admission = admission;
    this.pool = pool;
    this.endpoint = endpoint;
    this.metering = metering;
    this.metrics = metrics;
    this.trace = RequestTrace.of(ctx);
    this.span = RequestSpan.of(ctx);
    ctx.response().closeHandler(v -> clientClosed());
  }

  boolean clientGone() {
    return clientGone;
  }

  Set<Backend> tried() {
    return tried;
  }

  /** The current attempt waits for this slot (it may be queued). */
  void waitingFor(Future<Backend> slot) {
    queued = slot;
  }

  /** Metering admitted the request: from now on it is settled. False (and settled as abandoned) if the client left. */
  boolean admitted() {
    state = State.ADMITTED;
    if (clientGone) {
      abandon(TokenUsage.NONE);
      return false;
    }
    return true;
  }

  /**
   * An attempt got a slot on {@code chosen}. False if the client left meanwhile: the slot is given back and the
   * request settled as abandoned.
   */
  boolean attemptStarted(Backend chosen) {
    if (clientGone) {
      pool.release(chosen);
      abandon(TokenUsage.NONE);
      return false;
    }
    state = State.UPSTREAM;
    backend = chosen;
    holdsSlot = true;
    trace.backendId = chosen.id();
    trace.attempts++;
    attemptStart = System.nanoTime();
    trace.attemptStartNanos = attemptStart;
    upstream = null;
    return true;
  }

  /** A connection to the backend carries the attempt: from now on the prompt may be running there. */
  void sending(HttpClientRequest req) {
    upstream = req;
  }

  /** Whether the current attempt's request reached a connection (so the backend may have done work). */
  boolean sent() {
    return upstream != null;
  }

  void firstByte() {
    answerClock = LocalFailures.answered(backend);
    long ttfb = System.nanoTime() - attemptStart;
    trace.ttfbNanos = ttfb;
    metrics.upstreamTimeToFirstByte(request.model().id(), ttfb);
  }

  /**
   * The backend sent more than the gateway holds (see {@link UpstreamBounds}): logged, and the backend quarantined
   * until its next good health probe (counted in gptapi_backend_quarantines), since no accepted request explains it.
   */
  void backendMisbehaved(String what) {
    LOG.warn("Request {} cut: backend {} {}", RequestIds.get(ctx), backend.id(), what);
    pool.reportFailure(backend, what);
  }

  /** The backend's error answer was cut to its first {@link UpstreamBounds#MAX_ERROR_BYTES}. */
  void errorTooLarge() {
    backendMisbehaved("sent an error answer larger than " + UpstreamBounds.MAX_ERROR_BYTES + " bytes");
  }

  /** The backend's answer is being passed to the client: no retry is possible any more. */
  void relaying() {
    state = State.RELAYING;
  }

  void firstToken() {
    if (firstTokenNanos < 0) {
      firstTokenNanos = System.nanoTime();
    }
  }

  /** The current attempt is over (answered, failed or cut): its slot goes back to the pool, once. */
  void attemptEnded() {
    span.endStage();
    if (trace.attemptStartNanos != 0) {
      trace.upstreamNanos += System.nanoTime() - attemptStart;
      trace.attemptStartNanos = 0;
    }
    if (holdsSlot) {
      holdsSlot = false;
      pool.release(backend);
    }
  }

  /**
   * Whether another attempt may be made (counted as a retry).
   *
   * @param exclude whether the failed backend is excluded from it (not when the failure was this process's own)
   */
  boolean retry(boolean exclude) {
    if (retries >= MAX_RETRIES) {
      return false;
    }
    retries++;
    if (exclude) {
      if (tried.isEmpty()) {
        tried = new HashSet<>(4);
      }
      tried.add(backend);
    }
    metrics.retry(request.model().id());
    return true;
  }

  private void clientClosed() {
    if (isEnded() || ctx.response().ended()) {
      return;
    }
    clientGone = true;
    if (queued != null && !queued.isComplete()) {
      pool.cancel(queued); // waiting for a slot: leave the queue and settle now
    }
    if (upstream != null) {
      upstream.reset(); // stop generation upstream now rather than when llama.cpp notices
    }
  }

  /**
   * Ends the request with an error; an admitted request is settled for nothing, since nothing was served. The
   * client (if still there) gets the error.
   */
  void fail(Throwable cause) {
    fail(cause, TokenUsage.NONE, cause instanceof ApiError e ? e.status() : 500);
  }

  /** Ends the request with an error, settling these tokens (work the backend may have done) at this status. */
  void fail(Throwable cause, TokenUsage tokens, int status) {
    if (isEnded()) {
      return;
    }
    end(State.FAILED, tokens, status);
    if (!clientGone) {
      ctx.fail(cause);
    }
  }

  /** Settles a request whose client went away (499). */
  void abandon(TokenUsage tokens) {
    end(State.ABANDONED, tokens, 499);
  }

  /**
   * The answer was relayed: settles these tokens.
   *
   * @return the cost in micro-USD (0 if the request had already ended), once the settlement is durable: end the
   *     response only then, so nothing a client saw complete can go unbilled
   */
  Future<Long> complete(TokenUsage tokens) {
    if (answerClock != null) {
      answerClock.lazySet(System.nanoTime());
    }
    return end(clientGone ? State.ABANDONED : State.SETTLED, tokens, clientGone ? 499 : 200);
  }

  private boolean isEnded() {
    return state.compareTo(State.SETTLED) >= 0;
  }

  /** The one transition to an end: settles once, and only a request metering admitted. */
  private Future<Long> end(State outcome, TokenUsage tokens, int status) {
    if (isEnded()) {
      return Future.succeededFuture(0L);
    }
    boolean wasAdmitted = state != State.ADMITTING;
    state = outcome;
    if (!wasAdmitted) {
      return Future.succeededFuture(0L);
    }
    tokens = bounded(tokens);
    long now = System.nanoTime();
    long ttft = firstTokenNanos < 0 ? -1 : (firstTokenNanos - startNanos) / 1_000_000;
    long cost = price(tokens);
    span.set(RequestSpan.INPUT_TOKENS, (long) tokens.promptTokens());
    span.set(RequestSpan.OUTPUT_TOKENS, (long) tokens.completionTokens());
    span.set(RequestSpan.COST, cost);
    span.stage("settlement");
    return metering.settle(new SettledUsage(RequestIds.get(ctx), key.orgId(), key.id(), request.model().id(),
        backend == null ? 0 : backend.id(), endpoint.metricName(), tokens.promptTokens(), tokens.completionTokens(),
        tokens.cachedTokens(), cost, status, tokens.estimated(), (now - startNanos) / 1_000_000, ttft),
        admission.holdMicros()).map(cost).onComplete(settled -> span.endStage());
  }

  /** Whether the request is charged (metering is on), so its response states the cost. */
  boolean charged() {
    return metering.charges();
  }

  /** The tokens, at most what this request could use (its prompt bound and output budget): see TokenUsage#atMost. */
  private TokenUsage bounded(TokenUsage tokens) {
    return tokens.atMost(request.promptBound(), request.maxTokens());
  }

  /** The exact charge for these tokens at the model's prices (capped as {@link #bounded} does). */
  long price(TokenUsage tokens) {
    tokens = bounded(tokens);
    ModelInfo m = request.model();
    return Money.requestCost(tokens.promptTokens(), tokens.completionTokens(), m.inputPriceMicrosPerM(),
        m.outputPriceMicrosPerM());
  }
}
