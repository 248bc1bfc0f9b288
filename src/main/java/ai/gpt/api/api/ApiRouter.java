package ai.gpt.api.api;

import ai.gpt.api.account.SessionCheck;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.List;

/**
 * The JSON API behind the dashboard, mounted at /api. Public routes first (sign-up, sign-in...), then the session
 * check, then everything that needs a signed-in user. Responses are never cached and never framed.
 */
public final class ApiRouter {
  private static final long MAX_BODY_BYTES = 64 * 1024;

  private ApiRouter() {}

  public static Router create(Vertx vertx, List<ApiRoutes> features, SessionCheck sessionCheck) {
    Router api = Router.router(vertx);
    api.route().handler(ctx -> {
      ctx.response()
          .putHeader("Cache-Control", "no-store")
          .putHeader("X-Content-Type-Options", "nosniff")
          .putHeader("X-Frame-Options", "DENY")
          .putHeader("Referrer-Policy", "no-referrer");
      ctx.next();
    });
    api.route().handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES));
    features.forEach(f -> f.mountPublic(api));
    api.route().handler(sessionCheck);
    features.forEach(f -> f.mountSignedIn(api));
    api.route().handler(ctx -> ctx.fail(ApiError.notFound(
        "Unknown API route: " + ctx.request().method() + " " + ctx.request().path() + ".")));
    return api;
  }
}
