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
    tokens.verify(header.substring(7).strip())
        .compose(claims -> sessions.active(claims.sessionId(), claims.userId()).map(active -> active ? claims : null))
        .onComplete(ar -> {
          if (ar.failed() || ar.result() == null) {
            ctx.fail(ApiError.of(401, "invalid_session", "The access token is invalid or expired, or the session "
                + "has ended. Refresh it, or sign in again.", null));
            return;
          }
          new ApiAuth(ar.result().userId(), ar.result().sessionId()).attach(ctx);
          ctx.next();
        });
  }
}
