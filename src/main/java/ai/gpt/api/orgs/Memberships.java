package ai.gpt.api.orgs;

import ai.gpt.api.api.Json;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/**
 * Tenant isolation for every organization-scoped /api route: the caller must be a member of the organization in the
 * path. Someone who is not gets 404, exactly as for an organization that does not exist, so ids of other tenants
 * reveal nothing; a member whose role is too weak gets 403.
 */
public final class Memberships {
  private final Pool pool;

  public Memberships(Pool pool) {
    this.pool = pool;
  }

  /** The user's role in the organization, or null when they are not a member. */
  public Future<Role> roleOf(long orgId, long userId) {
    return pool.preparedQuery("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
        .execute(Tuple.of(orgId, userId))
        .map(rows -> rows.size() == 0 ? null : Role.parse(rows.iterator().next().getString(0)));
  }

  /** Succeeds with the user's role when it is at least {@code min}; fails with 404 or 403 otherwise. */
  public Future<Role> require(long orgId, long userId, Role min) {
    return roleOf(orgId, userId).compose(role -> {
      if (role == null) {
        return Future.failedFuture(notFound());
      }
      if (!role.atLeast(min)) {
        return Future.failedFuture(ApiError.of(403, "insufficient_role",
            "This needs the " + min.code() + " role in the organization; you are " + role.code() + ".", null));
      }
      return Future.succeededFuture(role);
    });
  }

  /** The numeric path parameter {@code name}; anything else is a 404 like an unknown id. */
  public static long pathId(RoutingContext ctx, String name) {
    return Json.pathId(ctx, name, Memberships::notFound);
  }

  public static ApiError notFound() {
    return ApiError.of(404, "not_found", "No such organization, or you are not a member of it.", null);
  }
}
