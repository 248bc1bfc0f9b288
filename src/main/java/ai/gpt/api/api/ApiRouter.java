package ai.gpt.api.api;

import ai.gpt.api.account.SessionCheck;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.http.BodyLimit;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.CorsHandler;
import java.util.List;
import java.util.Set;

/**
 * The JSON API behind the dashboard, mounted at /api. Public routes first (sign-up, sign-in...), then the session
 * check, then everything that needs a signed-in user. Responses are never cached and never framed. Browsers may
 * call it cross-origin only from the exact origins in CORS_ORIGINS (none by default).
 */
public final class ApiRouter {
  private static final long MAX_BODY_BYTES = 64 * 1024;

  private ApiRouter() {}

  public static Router create(Vertx vertx, List<ApiRoutes> features, SessionCheck sessionCheck,
      List<String> corsOrigins) {
    Router api = Router.router(vertx);
    if (!corsOrigins.isEmpty()) {
      // Only requests from a listed origin reach the CorsHandler (never without origins: it would allow all).
      // Others get no CORS headers, so browsers keep the answer from the page; same-origin calls are unaffected.
      CorsHandler cors = CorsHandler.create().addOrigins(corsOrigins).allowCredentials(true)
          .allowedMethods(Set.of(HttpMethod.GET, HttpMethod.POST, HttpMethod.PATCH, HttpMethod.PUT, HttpMethod.DELETE))
          .allowedHeaders(Set.of("authorization", "content-type", "x-gptapi-csrf", "idempotency-key"))
          .maxAgeSeconds(600);
      api.route().handler(ctx -> {
        String origin = ctx.request().getHeader("origin");
        if (origin != null && corsOrigins.contains(origin)) {
          cors.handle(ctx);
        } else {
          ctx.next();
        }
      });
    }
    api.route().handler(ctx -> {
      ctx.response()
          .putHeader("Cache-Control", "no-store")
          .putHeader("X-Content-Type-Options", "nosniff")
          .putHeader("X-Frame-Options", "DENY")
          .putHeader("Referrer-Policy", "no-referrer");
      ctx.next();
    });
    features.forEach(f -> f.mountRaw(api));
    api.route().handler(BodyLimit.create(MAX_BODY_BYTES));
    features.forEach(f -> f.mountPublic(api));
    api.route().handler(sessionCheck);
    features.forEach(f -> f.mountSignedIn(api));
    api.route().handler(ctx -> ctx.fail(ApiError.notFound(
        "Unknown API route: " + ctx.request().method() + " " + ctx.request().path() + ".")));
    return api;
  }
}
