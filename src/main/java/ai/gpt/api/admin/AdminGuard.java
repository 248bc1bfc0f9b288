package ai.gpt.api.admin;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/**
 * Lets a request through to the admin routes only if its user has {@code users.is_admin}. The flag is re-read from
 * PostgreSQL on every request, so an admin revoked since their token was issued loses access at once.
 */
final class AdminGuard implements Handler<RoutingContext> {
  private static final String IS_ADMIN = "SELECT is_admin FROM users WHERE id = $1";

  private final Pool pool;

  AdminGuard(Pool pool) {
    this.pool = pool;
  }

  /** Non-admins see exactly the unknown-route 404, so the admin API is not revealed. */
  @Override
  public void handle(RoutingContext ctx) {
    pool.preparedQuery(IS_ADMIN).execute(Tuple.of(ApiAuth.of(ctx).userId())).onSuccess(rows -> {
      if (rows.size() == 1 && Boolean.TRUE.equals(rows.iterator().next().getBoolean(0))) {
        ctx.next();
      } else {
        ctx.fail(hidden(ctx));
      }
    }).onFailure(ctx::fail);
  }

  private static ApiError hidden(RoutingContext ctx) {
    return ApiError.notFound("Unknown API route: " + ctx.request().method() + " " + ctx.request().path() + ".");
  }
}
