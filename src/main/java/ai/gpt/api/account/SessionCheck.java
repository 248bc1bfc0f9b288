package ai.gpt.api.account;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Admits /api requests that carry a valid access token ({@code Authorization: Bearer <jwt>}) of a session that is
 * still active. The session is looked up on every request, so signing out, a password reset or a detected token
 * reuse takes effect at once rather than when the access token expires.
 */
public final class SessionCheck implements Handler<RoutingContext> {
  private final AccessTokens tokens;
  private final Sessions sessions;

  public SessionCheck(AccessTokens tokens, Sessions sessions) {
    this.tokens = tokens;
    this.sessions = sessions;
  }

  @Override
  public void handle(RoutingContext ctx) {
    String header = ctx.request().getHeader("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      ctx.fail(ApiError.of(401, "no_session", "Sign in: send the access token as 'Authorization: Bearer ...'.",
          null));
      return;
    }
    tokens.verify(header.substring(7).strip()).onComplete(verified -> {
      if (verified.failed()) {
        ctx.fail(invalidSession());
        return;
      }
      AccessTokens.Claims claims = verified.result();
      sessions.active(claims.sessionId(), claims.userId()).onComplete(active -> {
        if (active.failed()) {
          // PostgreSQL unreachable says nothing about the session: a 401 would sign a valid user out.
          ctx.fail(ApiError.unavailable("The session could not be checked; retry in a moment."));
        } else if (!active.result()) {
          ctx.fail(invalidSession());
        } else {
          new ApiAuth(claims.userId(), claims.sessionId()).attach(ctx);
          ctx.next();
        }
      });
    });
  }

  private static ApiError invalidSession() {
    return ApiError.of(401, "invalid_session", "The access token is invalid or expired, or the session has ended. "
        + "Refresh it, or sign in again.", null);
  }
}
