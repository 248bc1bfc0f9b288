package ai.gpt.api.admin;

import static ai.gpt.api.admin.AdminJson.page;
import static ai.gpt.api.admin.AdminJson.time;

import ai.gpt.api.api.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/** GET /admin/audit: the {@link AdminAudit} log, newest first, with each admin's email. */
final class AdminAuditRoutes {
  private static final String AUDIT = "SELECT a.id, a.at, a.admin_user_id, u.email, a.action, a.target_type,"
      + " a.target_id, a.details FROM admin_audit a LEFT JOIN users u ON u.id = a.admin_user_id"
      + " WHERE ($1::bigint IS NULL OR a.id < $1) ORDER BY a.id DESC LIMIT $2";

  private final Pool pool;

  AdminAuditRoutes(Pool pool) {
    this.pool = pool;
  }

  void mount(Router api) {
    api.get("/admin/audit").handler(this::audit);
  }

  private void audit(RoutingContext ctx) {
    int limit = AdminParams.limit(ctx);
    Long before = AdminParams.before(ctx);
    pool.preparedQuery(AUDIT).execute(Tuple.of(before, limit + 1))
        .map(rows -> page(rows, limit, r -> {
          Object details = r.getValue("details");
          return new JsonObject()
              .put("id", r.getLong("id"))
              .put("at", time(r.getOffsetDateTime("at")))
              .put("admin_user_id", r.getLong("admin_user_id"))
              .put("admin_email", r.getString("email"))
              .put("action", r.getString("action"))
              .put("target_type", r.getString("target_type"))
              .put("target_id", r.getString("target_id"))
              .put("details", details instanceof JsonObject j ? j : new JsonObject());
        }))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }
}
