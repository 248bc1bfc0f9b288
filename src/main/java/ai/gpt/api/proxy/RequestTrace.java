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
  public long upstreamNanos;
  public long ttfbNanos = -1;
  public int attempts;

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
