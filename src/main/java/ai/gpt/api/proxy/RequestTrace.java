package ai.gpt.api.proxy;

import io.vertx.ext.web.RoutingContext;

/**
 * What the proxy learned about a request, kept on the routing context for the access log and metrics:
 * the model and backend used, and how long the backend took.
 */
public final class RequestTrace {
  private static final String KEY = "trace";

  public String model;
  public long backendId = -1;
  /** Time spent on finished backend attempts; see {@link #upstreamNanos(long)}. */
  public long upstreamNanos;
  /** Start of the backend attempt still running, 0 when none is. */
  public long attemptStartNanos;
  public long ttfbNanos = -1;
  public int attempts;

  /**
   * Backend time up to {@code now}, including an attempt still running: a client that leaves mid-stream ends the
   * request before the relay has finished its attempt.
   */
  public long upstreamNanos(long now) {
    return upstreamNanos + (attemptStartNanos == 0 ? 0 : now - attemptStartNanos);
  }

  public static RequestTrace of(RoutingContext ctx) {
    RequestTrace trace = ctx.get(KEY);
    if (trace == null) {
      trace = new RequestTrace();
      ctx.put(KEY, trace);
    }
    return trace;
  }

  public static RequestTrace peek(RoutingContext ctx) {
    return ctx.get(KEY);
  }
}
