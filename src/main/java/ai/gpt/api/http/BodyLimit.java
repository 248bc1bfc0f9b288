package ai.gpt.api.http;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * Reads a route's body up to its own limit and remembers that limit, so a 413 names the limit of the route the
 * client called (the OpenAI API and the account API have different ones).
 */
public final class BodyLimit {
  private static final String KEY = "bodyLimit";

  private BodyLimit() {}

  public static Handler<RoutingContext> create(long maxBytes) {
    BodyHandler body = BodyHandler.create(false).setBodyLimit(maxBytes);
    return ctx -> {
      ctx.put(KEY, maxBytes);
      body.handle(ctx);
    };
  }

  /** The limit of the body handler that ran for this request, or null if none did. */
  public static Long of(RoutingContext ctx) {
    return ctx.get(KEY);
  }
}
