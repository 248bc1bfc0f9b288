package ai.gpt.api.admin;

import static ai.gpt.api.admin.AdminJson.page;
import static ai.gpt.api.admin.AdminJson.time;
import static ai.gpt.api.admin.AdminParams.noSuch;
import static ai.gpt.api.admin.AdminParams.pathId;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.Json;
import ai.gpt.api.auth.KeyInvalidations;
import ai.gpt.api.billing.Money;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.pgclient.PgException;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The organization list, one organization's details, and changing its plan and limit overrides. */
final class AdminOrgRoutes {
  /** The limit columns; the only names ever spliced into SQL. */
  private static final List<String> LIMITS = List.of("rpm", "rph", "rpd", "tpm", "tph", "tpd", "concurrency");

  private static final String ORGS = """
      SELECT o.id, o.name, o.plan_id, o.created_at,
             (SELECT count(*) FROM memberships m WHERE m.org_id = o.id) AS members,
             COALESCE((SELECT b.balance_micros FROM org_balances b WHERE b.org_id = o.id), 0) AS balance
        FROM organizations o
       WHERE ($1::text IS NULL OR position(lower($1) IN lower(o.name)) > 0
              OR EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                          WHERE m.org_id = o.id AND position(lower($1) IN lower(u.email)) > 0))
         AND ($2::bigint IS NULL OR o.id < $2)
       ORDER BY o.id DESC LIMIT $3""";
  private static final String ORG = """
      SELECT o.id, o.name, o.plan_id, o.created_at, p.name AS plan_name,
             p.rpm AS p_rpm, p.rph AS p_rph, p.rpd AS p_rpd, p.tpm AS p_tpm, p.tph AS p_tph, p.tpd AS p_tpd,
             p.concurrency AS p_concurrency,
             o.rpm, o.rph, o.rpd, o.tpm, o.tph, o.tpd, o.concurrency,
             COALESCE((SELECT b.balance_micros FROM org_balances b WHERE b.org_id = o.id), 0) AS balance,
             (SELECT count(*) FROM api_keys k WHERE k.org_id = o.id) AS keys,
             (SELECT count(*) FROM api_keys k WHERE k.org_id = o.id AND k.status = 'active') AS active_keys,
             (SELECT count(*) FROM stripe_disputes d WHERE d.org_id = o.id AND d.closed_at IS NULL) AS open_disputes
        FROM organizations o JOIN plans p ON p.id = o.plan_id
       WHERE o.id = $1""";
  private static final String ORG_FOR_UPDATE = "SELECT plan_id, rpm, rph, rpd, tpm, tph, tpd, concurrency"
      + " FROM organizations WHERE id = $1 FOR UPDATE";
  private static final String MEMBERS = """
      SELECT u.id, u.email, u.name, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.org_id = $1 ORDER BY m.created_at, u.id""";

  private final Pool pool;
  private final Redis redis;

  AdminOrgRoutes(Pool pool, Redis redis) {
    this.pool = pool;
    this.redis = redis;
  }

  void mount(Router api) {
    api.get("/admin/orgs").handler(this::orgs);
    api.get("/admin/orgs/:orgId").handler(this::org);
    api.patch("/admin/orgs/:orgId").handler(this::patchOrg);
  }

  private void orgs(RoutingContext ctx) {
    String q = AdminParams.query(ctx);
    int limit = AdminParams.limit(ctx);
    Long before = AdminParams.before(ctx);
    pool.preparedQuery(ORGS).execute(Tuple.of(q, before, limit + 1))
        .map(rows -> page(rows, limit, r -> new JsonObject()
            .put("id", r.getLong("id"))
            .put("name", r.getString("name"))
            .put("plan_id", r.getString("plan_id"))
            .put("members", r.getLong("members"))
            .put("balance_micros", r.getLong("balance"))
            .put("balance_usd", Money.decimalUsd(r.getLong("balance")))
            .put("created_at", time(r.getOffsetDateTime("created_at")))))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private void org(RoutingContext ctx) {
    long orgId = pathId(ctx, "orgId", "organization");
    orgDetails(orgId).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private Future<JsonObject> orgDetails(long orgId) {
    return pool.preparedQuery(ORG).execute(Tuple.of(orgId)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.failedFuture(noSuch("organization"));
      }
      Row r = rows.iterator().next();
      JsonObject plan = new JsonObject();
      JsonObject overrides = new JsonObject();
      JsonObject effective = new JsonObject();
      for (String c : LIMITS) {
        Object p = r.getValue("p_" + c);
        Object own = r.getValue(c);
        plan.put(c, p);
        overrides.put(c, own);
        effective.put(c, own != null ? own : p);
      }
      long balance = r.getLong("balance");
      JsonObject org = new JsonObject()
          .put("object", "admin.organization")
          .put("id", r.getLong("id"))
          .put("name", r.getString("name"))
          .put("created_at", time(r.getOffsetDateTime("created_at")))
          .put("plan", new JsonObject().put("id", r.getString("plan_id")).put("name", r.getString("plan_name"))
              .put("limits", plan))
          .put("limits", overrides)
          .put("effective_limits", effective)
          .put("balance_micros", balance)
          .put("balance_usd", Money.decimalUsd(balance))
          .put("key_count", r.getLong("keys"))
          .put("active_key_count", r.getLong("active_keys"))
          // API access is suspended while a payment dispute is open (see DisputeEvents).
          .put("open_dispute_count", r.getLong("open_disputes"))
          .put("suspended", r.getLong("open_disputes") > 0);
      return pool.preparedQuery(MEMBERS).execute(Tuple.of(orgId)).map(members -> {
        JsonArray list = new JsonArray();
        for (Row m : members) {
          list.add(new JsonObject().put("user_id", m.getLong("id")).put("email", m.getString("email"))
              .put("name", m.getString("name")).put("role", m.getString("role"))
              .put("joined_at", time(m.getOffsetDateTime("created_at"))));
        }
        return org.put("members", list);
      });
    });
  }

  /** {plan_id?, limits?: {rpm..concurrency: n or null}}; every key is reloaded afterwards, as the CLI does. */
  private void patchOrg(RoutingContext ctx) {
    long orgId = pathId(ctx, "orgId", "organization");
    long adminId = ApiAuth.of(ctx).userId();
    JsonObject body = Json.body(ctx);
    for (String field : body.fieldNames()) {
      if (!field.equals("plan_id") && !field.equals("limits")) {
        throw ApiError.invalidRequest("Unknown field '" + field + "'; give plan_id and/or limits.", field);
      }
    }
    String plan = Json.optionalString(body, "plan_id", 100);
    Map<String, Long> limits = limits(body);
    if (plan == null && limits.isEmpty()) {
      throw ApiError.invalidRequest("Nothing to change: give plan_id and/or limits.", null);
    }
    List<String> assignments = new ArrayList<>();
    List<Object> values = new ArrayList<>();
    values.add(orgId);
    if (plan != null) {
      values.add(plan);
      assignments.add("plan_id = $" + values.size());
    }
    limits.forEach((column, value) -> {
      values.add(value);
      assignments.add(column + " = $" + values.size() + (column.equals("concurrency") ? "::int" : "::bigint"));
    });
    String sql = "UPDATE organizations SET " + String.join(", ", assignments) + " WHERE id = $1";
    pool.withTransaction(tx -> tx.preparedQuery(ORG_FOR_UPDATE).execute(Tuple.of(orgId)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.failedFuture(noSuch("organization"));
      }
      Row r = rows.iterator().next();
      JsonObject before = new JsonObject();
      JsonObject after = new JsonObject();
      if (plan != null) {
        before.put("plan_id", r.getString("plan_id"));
        after.put("plan_id", plan);
      }
      limits.forEach((column, value) -> {
        before.put(column, r.getValue(column));
        after.put(column, value);
      });
      return tx.preparedQuery(sql).execute(Tuple.from(values))
          .compose(v -> AdminAudit.record(tx, adminId, "org.update", "organization", orgId,
              new JsonObject().put("before", before).put("after", after)));
    })).recover(err -> {
      if (err instanceof PgException pg && "23503".equals(pg.getSqlState())) {
        return Future.failedFuture(ApiError.invalidRequest("Unknown plan '" + plan + "'.", "plan_id"));
      }
      return Future.failedFuture(err);
    }).compose(v -> KeyInvalidations.publishAllAfter(redis, "changing organization " + orgId))
        .compose(v -> orgDetails(orgId))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /** The body's {@code limits} object, checked, in the order given; a null value clears that override. */
  private static Map<String, Long> limits(JsonObject body) {
    Map<String, Long> limits = new LinkedHashMap<>();
    if (!body.containsKey("limits")) {
      return limits;
    }
    if (!(body.getValue("limits") instanceof JsonObject l)) {
      throw ApiError.invalidRequest("'limits' must be an object such as {\"rpm\": 60, \"tpd\": null}.", "limits");
    }
    for (String name : l.fieldNames()) {
      if (!LIMITS.contains(name)) {
        throw ApiError.invalidRequest("Unknown limit '" + name + "'; limits are " + String.join(", ", LIMITS)
            + ".", "limits." + name);
      }
      Object v = l.getValue(name);
      long max = name.equals("concurrency") ? Integer.MAX_VALUE : Long.MAX_VALUE;
      // null clears the limit
      limits.put(name, v == null ? null : Json.wholeNumber(v, "limits." + name, 1, max));
    }
    return limits;
  }
}
