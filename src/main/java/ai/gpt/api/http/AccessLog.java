package ai.gpt.api.http;

import ai.gpt.api.auth.ApiKey;
import ai.gpt.api.auth.AuthHandler;
import ai.gpt.api.metrics.GatewayMetrics;
import ai.gpt.api.proxy.RequestTrace;
import ai.gpt.api.status.TrafficCounts;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request when its response ends, as text or JSON (LOG_FORMAT), and the request metrics.
 * It logs ids, never secrets, full keys or prompts.
 */
public final class AccessLog implements Handler<RoutingContext> {
  private static final Logger LOG = LoggerFactory.getLogger("access");
  private final boolean json;
  private final GatewayMetrics metrics;
  private final TrafficCounts traffic;

  private AccessLog(boolean json, GatewayMetrics metrics, TrafficCounts traffic) {
    this.json = json;
    this.metrics = metrics;
    this.traffic = traffic;
  }

  public static AccessLog create(boolean json, GatewayMetrics metrics, TrafficCounts traffic) {
    return new AccessLog(json, metrics, traffic);
  }

  @Override
  public void handle(RoutingContext ctx) {
    long start = System.nanoTime();
    ctx.addEndHandler(v -> done(ctx, System.nanoTime() - start));
    ctx.next();
  }

  private void done(RoutingContext ctx, long totalNanos) {
    RequestTrace trace = RequestTrace.peek(ctx);
    ApiKey key = AuthHandler.key(ctx);
    int status = ctx.response().closed() && !ctx.response().ended() ? 499 : ctx.response().getStatusCode();
    String path = ctx.request().path();
    if (trace != null) {
      // Labelled by the path the router matched, never the raw one: "/v1/x/../chat/completions" reaches the same
      // route, and a label per spelling would grow the registry without bound.
      String route = ctx.normalizedPath();
      String endpoint = route.length() > 1 && route.endsWith("/") ? route.substring(0, route.length() - 1) : route;
      metrics.request(trace.model == null ? "" : trace.model, endpoint, status);
      metrics.overhead(endpoint, totalNanos - trace.upstreamNanos(System.nanoTime()));
      traffic.record(trace.model, status, trace.backendId, trace.ttfbNanos);
    }
    if (!LOG.isInfoEnabled()) {
      return;
    }
    String ts = Instant.now().toString();
    String method = ctx.request().method().name();
    double totalMs = totalNanos / 1e6;
    if (json) {
      LOG.info(new JsonObject()
          .put("ts", ts)
          .put("request_id", RequestIds.get(ctx))
          .put("method", method)
          .put("path", path)
          .put("status", status)
          .put("org_id", key == null ? null : key.orgId())
          .put("key", key == null ? null : key.publicId())
          .put("model", trace == null ? null : trace.model)
          .put("backend", trace == null || trace.backendId < 0 ? null : trace.backendId)
          .put("attempts", trace == null ? null : trace.attempts)
          .put("total_ms", totalMs)
          .put("upstream_ms", trace == null ? null : trace.upstreamNanos(System.nanoTime()) / 1e6)
          .put("ttfb_ms", trace == null || trace.ttfbNanos < 0 ? null : trace.ttfbNanos / 1e6)
          .encode());
      return;
    }
    // The same fields in the same order as the JSON line, absent ones left out; written straight into one
    // builder, since this runs once per request.
    StringBuilder text = new StringBuilder(320).append("ts=").append(ts);
    append(text, "request_id", RequestIds.get(ctx));
    append(text, "method", method);
    append(text, "path", path);
    text.append(" status=").append(status);
    if (key != null) {
      text.append(" org_id=").append(key.orgId());
      append(text, "key", key.publicId());
    }
    if (trace != null) {
      append(text, "model", trace.model);
      if (trace.backendId >= 0) {
        text.append(" backend=").append(trace.backendId);
      }
      text.append(" attempts=").append(trace.attempts);
    }
    text.append(" total_ms=").append(totalMs);
    if (trace != null) {
      text.append(" upstream_ms=").append(trace.upstreamNanos(System.nanoTime()) / 1e6);
      if (trace.ttfbNanos >= 0) {
        text.append(" ttfb_ms=").append(trace.ttfbNanos / 1e6);
      }
    }
    LOG.info(text.toString());
  }

  private static void append(StringBuilder text, String name, String value) {
    if (value != null) {
      text.append(' ').append(name).append('=').append(value);
    }
  }
}
