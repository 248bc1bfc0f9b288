package ai.gpt.api.api;

import ai.gpt.api.account.SessionCheck;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.http.BodyLimit;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.CorsHandler;
import java.util.List;
import java.util.Locale;
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
    api.route().handler(ApiRouter::checkPathAndQuery);
    api.route().handler(BodyLimit.create(MAX_BODY_BYTES));
    features.forEach(f -> f.mountPublic(api));
    api.route().handler(sessionCheck);
    features.forEach(f -> f.mountSignedIn(api));
    api.route().handler(ctx -> ctx.fail(ApiError.notFound(
        "Unknown API route: " + ctx.request().method() + " " + ctx.request().path() + ".")));
    return api;
  }

  /**
   * A path holding U+0000 (%00) names nothing (404, like an unknown id); a query parameter holding it, or given
   * more than once ({@code limit=5&limit=500}: which one did the client mean?), is 400 naming it. PostgreSQL text
   * cannot store U+0000, so it must not reach a query. The OAuth callback is a browser's page load that answers
   * every failure with a redirect, and reads its parameters itself.
   */
  private static void checkPathAndQuery(RoutingContext ctx) {
    String rawPath = ctx.request().path();
    if (rawPath != null && rawPath.toLowerCase(Locale.ROOT).contains("%00")) {
      ctx.fail(ApiError.notFound("Unknown API route: " + ctx.request().method() + " " + rawPath + "."));
      return;
    }
    if (rawPath != null && rawPath.startsWith("/api/auth/oauth/")) {
      ctx.next();
      return;
    }
    MultiMap query = ctx.queryParams();
    for (String name : query.names()) {
      List<String> values = query.getAll(name);
      if (name.indexOf('\0') >= 0 || values.stream().anyMatch(v -> v.indexOf('\0') >= 0)) {
        String shown = name.replace("\0", "");
        ctx.fail(ApiError.invalidRequest("The query parameter '" + shown + "' contains the character U+0000, which "
            + "is not allowed.", shown));
        return;
      }
      if (values.size() > 1) {
        ctx.fail(ApiError.invalidRequest("The query parameter '" + name + "' is given more than once.", name));
        return;
      }
    }
    ctx.next();
  }
}
