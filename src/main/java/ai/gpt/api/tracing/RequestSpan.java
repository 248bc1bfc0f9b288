package ai.gpt.api.tracing;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import ai.gpt.api.http.RequestIds;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.RoutingContext;

/**
 * The trace of one API request: a server span (continuing the caller's {@code traceparent}) and, one after
 * another, a span per stage of its life: {@code auth}, {@code admission}, the backend call (a client span whose
 * context goes to llama.cpp as {@code traceparent}) and {@code settlement}. A stage ends when the next begins or
 * the response ends. Attributes name the model, org, backend and token counts, never a key or a prompt.
 *
 * <p>{@link #NONE} does nothing: what instrumented code gets when tracing is off or the request is not traced.
 * Touched only on the request's event loop.
 */
public class RequestSpan {
  public static final RequestSpan NONE = new RequestSpan();
  public static final AttributeKey<String> MODEL = AttributeKey.stringKey("gen_ai.request.model");
  public static final AttributeKey<Long> ORG = AttributeKey.longKey("gptapi.org_id");
  public static final AttributeKey<Long> BACKEND = AttributeKey.longKey("gptapi.backend_id");
  public static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
  public static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
  public static final AttributeKey<Long> COST = AttributeKey.longKey("gptapi.cost_micros");
  public static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("gptapi.outcome");
  private static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("gptapi.request_id");
  private static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  private static final AttributeKey<String> ROUTE = AttributeKey.stringKey("http.route");
  private static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  private static final String KEY = RequestSpan.class.getName();

  private static final TextMapGetter<MultiMap> HEADERS = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(MultiMap carrier) {
      return carrier.names();
    }

    @Override
    public String get(MultiMap carrier, String key) {
      return carrier == null ? null : carrier.get(key);
    }
  };
  private static final TextMapSetter<RequestOptions> UPSTREAM = (options, key, value) -> options.putHeader(key, value);

  RequestSpan() {}

  /** The span of this request, or {@link #NONE}. */
  public static RequestSpan of(RoutingContext ctx) {
    RequestSpan span = ctx.get(KEY);
    return span == null ? NONE : span;
  }

  /**
   * Starts the server span of each request it handles (before auth) and ends it with the response; mount it only
   * when tracing is on.
   */
  public static Handler<RoutingContext> handler(Tracing tracing) {
    return ctx -> {
      Context parent = W3CTraceContextPropagator.getInstance().extract(Context.root(), ctx.request().headers(),
          HEADERS);
      String route = ctx.request().path();
      Span server = tracing.tracer().spanBuilder(ctx.request().method().name() + " " + route)
          .setSpanKind(SpanKind.SERVER).setParent(parent)
          .setAttribute(METHOD, ctx.request().method().name())
          .setAttribute(ROUTE, route)
          .setAttribute(REQUEST_ID, RequestIds.get(ctx))
          .startSpan();
      Traced traced = new Traced(tracing, server);
      ctx.put(KEY, traced);
      ctx.addEndHandler(ended -> traced.end(ctx.response().getStatusCode()));
      ctx.next();
    };
  }

  /** Ends the current stage, if any, and starts the next. */
  public void stage(String name) {}

  /** Like {@link #stage(String)}, for the backend call: a client span whose context goes upstream. */
  public void upstreamStage(String name, long backendId, RequestOptions upstream) {}

  /** Ends the current stage, if any. */
  public void endStage() {}

  /** Sets an attribute on the request's server span. */
  public <T> void set(AttributeKey<T> key, T value) {}

  /** Sets an attribute on the current stage's span. */
  public <T> void setOnStage(AttributeKey<T> key, T value) {}

  private static final class Traced extends RequestSpan {
    private final Tracing tracing;
    private final Span server;
    private Span stage;

    Traced(Tracing tracing, Span server) {
      this.tracing = tracing;
      this.server = server;
    }

    @Override
    public void stage(String name) {
      start(name, SpanKind.INTERNAL);
    }

    @Override
    public void upstreamStage(String name, long backendId, RequestOptions upstream) {
      start(name, SpanKind.CLIENT).setAttribute(BACKEND, backendId);
      W3CTraceContextPropagator.getInstance().inject(Context.root().with(stage), upstream, UPSTREAM);
    }

    private Span start(String name, SpanKind kind) {
      endStage();
      stage = tracing.tracer().spanBuilder(name).setSpanKind(kind).setParent(Context.root().with(server))
          .startSpan();
      return stage;
    }

    @Override
    public void endStage() {
      if (stage != null) {
        stage.end();
        stage = null;
      }
    }

    @Override
    public <T> void set(AttributeKey<T> key, T value) {
      server.setAttribute(key, value);
    }

    @Override
    public <T> void setOnStage(AttributeKey<T> key, T value) {
      if (stage != null) {
        stage.setAttribute(key, value);
      }
    }

    void end(int status) {
      endStage();
      server.setAttribute(STATUS, (long) status);
      if (status >= 500) {
        server.setStatus(StatusCode.ERROR);
      }
      server.end();
    }
  }
}
