package ai.gpt.api.admin;

import static ai.gpt.api.admin.AdminJson.time;

import ai.gpt.api.api.Json;
import ai.gpt.api.billing.Money;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;

/** GET /admin/monitor: today's traffic, the costliest organizations, the latest requests and backend health. */
final class AdminMonitor {
  /** Today is the UTC day. */
  private static final String TODAY = "(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')";
  private static final String MONITOR_TOTALS = "SELECT count(*) AS requests,"
      + " COALESCE(SUM(prompt_tokens + completion_tokens), 0)::bigint AS tokens,"
      + " COALESCE(SUM(cost_micros), 0)::bigint AS cost, COUNT(*) FILTER (WHERE status >= 400) AS errors"
      + " FROM usage WHERE created_at >= " + TODAY;
  private static final String MONITOR_TOP_ORGS = "SELECT u.org_id, o.name, count(*) AS requests,"
      + " SUM(u.prompt_tokens + u.completion_tokens)::bigint AS tokens, SUM(u.cost_micros)::bigint AS cost"
      + " FROM usage u LEFT JOIN organizations o ON o.id = u.org_id WHERE u.created_at >= " + TODAY
      + " GROUP BY u.org_id, o.name ORDER BY cost DESC, u.org_id LIMIT 10";
  private static final String MONITOR_RECENT = "SELECT request_id, org_id, key_id, model, backend_id, endpoint,"
      + " prompt_tokens, completion_tokens, cost_micros, status, latency_ms, created_at FROM usage"
      + " ORDER BY created_at DESC LIMIT 20";

  private final Pool pool;
  private final AdminBackendView backends;

  AdminMonitor(Pool pool, AdminBackendView backends) {
    this.pool = pool;
    this.backends = backends;
  }

  void mount(Router api) {
    api.get("/admin/monitor").handler(this::monitor);
  }

  private void monitor(RoutingContext ctx) {
    Future<RowSet<Row>> totals = pool.query(MONITOR_TOTALS).execute();
    Future<RowSet<Row>> top = pool.query(MONITOR_TOP_ORGS).execute();
    Future<RowSet<Row>> recent = pool.query(MONITOR_RECENT).execute();
    Future<RowSet<Row>> backendRows = AdminBackendView.rows(pool);
    Future.all(totals, top, recent, backendRows).map(all -> {
      Row t = totals.result().iterator().next();
      JsonObject today = new JsonObject()
          .put("requests", t.getLong("requests"))
          .put("errors", t.getLong("errors"))
          .put("tokens", t.getLong("tokens"))
          .put("cost_micros", t.getLong("cost"))
          .put("cost_usd", Money.decimalUsd(t.getLong("cost")));
      JsonArray topOrgs = new JsonArray();
      for (Row r : top.result()) {
        topOrgs.add(new JsonObject().put("org_id", r.getLong("org_id")).put("name", r.getString("name"))
            .put("requests", r.getLong("requests")).put("tokens", r.getLong("tokens"))
            .put("cost_micros", r.getLong("cost")).put("cost_usd", Money.decimalUsd(r.getLong("cost"))));
      }
      JsonArray last = new JsonArray();
      for (Row r : recent.result()) {
        last.add(new JsonObject().put("request_id", r.getString("request_id")).put("org_id", r.getLong("org_id"))
            .put("key_id", r.getLong("key_id")).put("model", r.getString("model"))
            .put("backend_id", r.getLong("backend_id")).put("endpoint", r.getString("endpoint"))
            .put("prompt_tokens", r.getInteger("prompt_tokens"))
            .put("completion_tokens", r.getInteger("completion_tokens"))
            .put("cost_micros", r.getLong("cost_micros")).put("status", r.getInteger("status"))
            .put("latency_ms", r.getInteger("latency_ms"))
            .put("created_at", time(r.getOffsetDateTime("created_at"))));
      }
      return new JsonObject().put("object", "admin.monitor").put("today", today).put("top_orgs", topOrgs)
          .put("recent_requests", last).put("backends", backends.list(backendRows.result()));
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }
}
