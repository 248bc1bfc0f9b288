package ai.gpt.api.api;

import io.vertx.ext.web.RoutingContext;

/** The signed-in user of an /api request, put on the context by the session check. */
public record ApiAuth(long userId, long sessionId) {
  private static final String KEY = "apiAuth";

  public static ApiAuth of(RoutingContext ctx) {
    return ctx.get(KEY);
  }

  public void attach(RoutingContext ctx) {
    ctx.put(KEY, this);
  }
}
