package ai.gpt.api.admin;

import static ai.gpt.api.admin.AdminJson.page;
import static ai.gpt.api.admin.AdminJson.time;

import ai.gpt.api.api.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/** GET /admin/users: every user, searchable by email or name. */
final class AdminUserRoutes {
  private static final String USERS = """
      SELECT u.id, u.email, u.name, u.is_admin, u.email_verified_at, u.created_at,
             (SELECT count(*) FROM memberships m WHERE m.user_id = u.id) AS orgs
        FROM users u
       WHERE ($1::text IS NULL OR position(lower($1) IN lower(u.email)) > 0 OR position(lower($1) IN lower(u.name)) > 0)
         AND ($2::bigint IS NULL OR u.id < $2)
       ORDER BY u.id DESC LIMIT $3""";

  private final Pool pool;

  AdminUserRoutes(Pool pool) {
    this.pool = pool;
  }

  void mount(Router api) {
    api.get("/admin/users").handler(this::users);
  }

  private void users(RoutingContext ctx) {
    String q = AdminParams.query(ctx);
    int limit = AdminParams.limit(ctx);
    Long before = AdminParams.before(ctx);
    pool.preparedQuery(USERS).execute(Tuple.of(q, before, limit + 1))
        .map(rows -> page(rows, limit, r -> new JsonObject()
            .put("id", r.getLong("id"))
            .put("email", r.getString("email"))
            .put("name", r.getString("name"))
            .put("is_admin", r.getBoolean("is_admin"))
            .put("email_verified", r.getValue("email_verified_at") != null)
            .put("organizations", r.getLong("orgs"))
            .put("created_at", time(r.getOffsetDateTime("created_at")))))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }
}
