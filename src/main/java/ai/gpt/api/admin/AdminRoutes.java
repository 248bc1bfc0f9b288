package ai.gpt.api.admin;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.auth.KeyInvalidations;
import ai.gpt.api.billing.Money;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.routing.Backend;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.routing.ModelPool;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.pgclient.PgException;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.net.URI;
import java.time.OffsetDateTime;
import java.time.temporal.Temporal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The platform admin API under /api/admin, for users with {@code users.is_admin}. Every request re-reads the flag
 * from PostgreSQL; anyone else gets the same 404 as an unknown route, so the API is not revealed. Every write
 * inserts its {@link AdminAudit} row in the transaction of the change. Redis and catalog effects follow the CLI:
 * credits drop the organization's hot balance, limit changes reload every key, and model and backend changes reach
 * every gateway through the catalog NOTIFY trigger.
 */
public final class AdminRoutes implements ApiRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(AdminRoutes.class);
  static final int DEFAULT_PAGE = 50;
  static final int MAX_PAGE = 200;
  static final int MAX_QUERY = 200;
  static final int MAX_REASON = 500;
  static final int MAX_IDEMPOTENCY_KEY = 200;
  /** The limit columns; the only names ever spliced into SQL. */
  static final List<String> LIMITS = List.of("rpm", "rph", "rpd", "tpm", "tph", "tpd", "concurrency");

  private static final String IS_ADMIN = "SELECT is_admin FROM users WHERE id = $1";
  private static final String USERS = """
      SELECT u.id, u.email, u.name, u.is_admin, u.email_verified_at, u.created_at,
             (SELECT count(*) FROM memberships m WHERE m.user_id = u.id) AS orgs
        FROM users u
       WHERE ($1::text IS NULL OR position(lower($1) IN lower(u.email)) > 0 OR position(lower($1) IN lower(u.name)) > 0)
         AND ($2::bigint IS NULL OR u.id < $2)
       ORDER BY u.id DESC LIMIT $3""";
  private static final String ORGS = """
      SELECT o.id, o.name, o.plan_id, o.created_at,
             (SELECT count(*) FROM memberships m WHERE m.org_id = o.id) AS members,
             (SELECT COALESCE(SUM(amount_micros), 0) FROM credit_ledger l WHERE l.org_id = o.id)::bigint AS balance
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
             (SELECT COALESCE(SUM(amount_micros), 0) FROM credit_ledger l WHERE l.org_id = o.id)::bigint AS balance,
             (SELECT count(*) FROM api_keys k WHERE k.org_id = o.id) AS keys,
             (SELECT count(*) FROM api_keys k WHERE k.org_id = o.id AND k.status = 'active') AS active_keys
        FROM organizations o JOIN plans p ON p.id = o.plan_id
       WHERE o.id = $1""";
  private static final String ORG_FOR_UPDATE = "SELECT plan_id, rpm, rph, rpd, tpm, tph, tpd, concurrency"
      + " FROM organizations WHERE id = $1 FOR UPDATE";
  private static final String MEMBERS = """
      SELECT u.id, u.email, u.name, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.org_id = $1 ORDER BY m.created_at, u.id""";
  private static final String LEDGER_INSERT = "INSERT INTO credit_ledger (org_id, amount_micros, kind, reason,"
      + " idempotency_key) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id";
  private static final String LEDGER_BY_KEY = "SELECT id, org_id, amount_micros FROM credit_ledger"
      + " WHERE idempotency_key = $1";
  private static final String BALANCE = "SELECT COALESCE(SUM(amount_micros), 0)::bigint FROM credit_ledger"
      + " WHERE org_id = $1";
  private static final String ORG_EXISTS = "SELECT 1 FROM organizations WHERE id = $1";
  private static final String MODEL_COLUMNS = "id, display_name, kind, input_price_micros_per_m,"
      + " output_price_micros_per_m, default_max_tokens, max_max_tokens, context_length, active";
  private static final String MODELS = "SELECT " + MODEL_COLUMNS + " FROM models ORDER BY id";
  private static final String MODEL_FOR_UPDATE = "SELECT " + MODEL_COLUMNS + " FROM models WHERE id = $1 FOR UPDATE";
  // The backend statements are the CLI's (ai.gpt.api.cli.BackendCommands).
  private static final String BACKENDS = "SELECT id, model_id, base_url, slots, weight, state,"
      + " api_key IS NOT NULL AS auth, created_at FROM backends ORDER BY model_id, id";
  private static final String BACKEND_INSERT = "INSERT INTO backends (model_id, base_url, api_key, slots, weight)"
      + " VALUES ($1, $2, $3, $4, $5) RETURNING id";
  private static final String BACKEND_SET_STATE = "UPDATE backends SET state = $2 WHERE id = $1";
  private static final String BACKEND_DELETE = "DELETE FROM backends WHERE id = $1";
  private static final String BACKEND_FOR_UPDATE = "SELECT id, model_id, base_url, slots, weight, state FROM backends"
      + " WHERE id = $1 FOR UPDATE";
  private static final String MODEL_EXISTS = "SELECT 1 FROM models WHERE id = $1";
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
  private static final String AUDIT = "SELECT a.id, a.at, a.admin_user_id, u.email, a.action, a.target_type,"
      + " a.target_id, a.details FROM admin_audit a LEFT JOIN users u ON u.id = a.admin_user_id"
      + " WHERE ($1::bigint IS NULL OR a.id < $1) ORDER BY a.id DESC LIMIT $2";

  private final Pool pool;
  private final Redis redis;
  private final BackendRegistry registry;

  /** {@code registry} is this gateway's live backend view, for health in the monitor; null reads the table only. */
  public AdminRoutes(Pool pool, Redis redis, BackendRegistry registry) {
    this.pool = pool;
    this.redis = redis;
    this.registry = registry;
  }

  @Override
  public void mountSignedIn(Router api) {
    api.route("/admin/*").handler(this::requireAdmin);
    api.get("/admin/users").handler(this::users);
    api.get("/admin/orgs").handler(this::orgs);
    api.get("/admin/orgs/:orgId").handler(this::org);
    api.patch("/admin/orgs/:orgId").handler(this::patchOrg);
    api.post("/admin/orgs/:orgId/credits").handler(this::credits);
    api.get("/admin/models").handler(this::models);
    api.patch("/admin/models/:modelId").handler(this::patchModel);
    api.get("/admin/backends").handler(this::backends);
    api.post("/admin/backends").handler(this::addBackend);
    api.post("/admin/backends/:backendId/drain").handler(ctx -> setBackendState(ctx, "draining"));
    api.post("/admin/backends/:backendId/enable").handler(ctx -> setBackendState(ctx, "enabled"));
    api.delete("/admin/backends/:backendId").handler(this::removeBackend);
    api.get("/admin/monitor").handler(this::monitor);
    api.get("/admin/audit").handler(this::audit);
  }

  /** Non-admins (and admins revoked since their token was issued) see exactly the unknown-route 404. */
  private void requireAdmin(RoutingContext ctx) {
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

  // ---- users and organizations --------------------------------------------------------------------------------

  private void users(RoutingContext ctx) {
    String q = query(ctx);
    int limit = (int) queryNumber(ctx, "limit", DEFAULT_PAGE, MAX_PAGE);
    long before = queryNumber(ctx, "before", 0, Long.MAX_VALUE);
    pool.preparedQuery(USERS).execute(Tuple.of(q, before == 0 ? null : before, limit + 1))
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

  private void orgs(RoutingContext ctx) {
    String q = query(ctx);
    int limit = (int) queryNumber(ctx, "limit", DEFAULT_PAGE, MAX_PAGE);
    long before = queryNumber(ctx, "before", 0, Long.MAX_VALUE);
    pool.preparedQuery(ORGS).execute(Tuple.of(q, before == 0 ? null : before, limit + 1))
        .map(rows -> page(rows, limit, r -> new JsonObject()
            .put("id", r.getLong("id"))
            .put("name", r.getString("name"))
            .put("plan_id", r.getString("plan_id"))
            .put("members", r.getLong("members"))
            .put("balance_micros", r.getLong("balance"))
            .put("balance_usd", Money.formatUsd(r.getLong("balance")))
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
          .put("balance_usd", Money.formatUsd(balance))
          .put("key_count", r.getLong("keys"))
          .put("active_key_count", r.getLong("active_keys"));
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
    Map<String, Long> limits = new java.util.LinkedHashMap<>();
    if (body.containsKey("limits")) {
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
        if (v != null && !((v instanceof Integer || v instanceof Long) && ((Number) v).longValue() >= 1
            && ((Number) v).longValue() <= max)) {
          throw ApiError.invalidRequest("'limits." + name + "' must be a whole number >= 1, or null to clear it.",
              "limits." + name);
        }
        limits.put(name, v == null ? null : ((Number) v).longValue());
      }
    }
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
    }).compose(v -> KeyInvalidations.publishAll(redis).recover(err -> {
      // Committed; keys pick the new limits up when their cache entries expire.
      LOG.warn("Could not publish the key reload after changing organization {}: {}", orgId, err.toString());
      return Future.succeededFuture();
    })).compose(v -> orgDetails(orgId))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /**
   * {usd: "10.00" (negative deducts), reason}: one ledger row ('credit' or 'adjustment') under an idempotency key
   * (the Idempotency-Key header, else a fresh one), its audit row in the same transaction, then the hot balance in
   * Redis is dropped so the gateway reloads it from the ledger.
   */
  private void credits(RoutingContext ctx) {
    long orgId = pathId(ctx, "orgId", "organization");
    long adminId = ApiAuth.of(ctx).userId();
    JsonObject body = Json.body(ctx);
    long micros;
    try {
      micros = Money.parseUsd(Json.string(body, "usd", 40));
    } catch (IllegalArgumentException e) {
      throw ApiError.invalidRequest("'usd' must be a USD amount as a string, such as \"10.00\" or \"-2.50\" ("
          + e.getMessage() + ").", "usd");
    }
    if (micros == 0) {
      throw ApiError.invalidRequest("'usd' must not be zero.", "usd");
    }
    String reason = Json.string(body, "reason", MAX_REASON);
    String header = ctx.request().getHeader("Idempotency-Key");
    if (header != null && (header.isBlank() || header.length() > MAX_IDEMPOTENCY_KEY)) {
      throw ApiError.invalidRequest("The Idempotency-Key header must be 1 to " + MAX_IDEMPOTENCY_KEY
          + " characters.", "Idempotency-Key");
    }
    String key = "admin-credit:" + orgId + ":" + (header == null ? UUID.randomUUID() : header);
    String kind = micros > 0 ? "credit" : "adjustment";
    pool.withTransaction(tx -> tx.preparedQuery(ORG_EXISTS).execute(Tuple.of(orgId)).compose(exists -> {
      if (exists.size() == 0) {
        return Future.failedFuture(noSuch("organization"));
      }
      return tx.preparedQuery(LEDGER_INSERT).execute(Tuple.of(orgId, micros, kind, reason, key));
    }).compose(inserted -> {
      if (inserted.size() > 0) {
        long entryId = inserted.iterator().next().getLong(0);
        return AdminAudit.record(tx, adminId, micros > 0 ? "credits.deposit" : "credits.deduct", "organization",
                orgId, new JsonObject().put("amount_micros", micros).put("amount_usd", Money.formatUsd(micros))
                    .put("reason", reason).put("ledger_entry_id", entryId).put("idempotency_key", key))
            .map(v -> new long[] {entryId, 1});
      }
      // A retry with the same Idempotency-Key: the first call's row stands, nothing new to audit.
      return tx.preparedQuery(LEDGER_BY_KEY).execute(Tuple.of(key)).compose(existing -> {
        Row e = existing.iterator().next();
        if (e.getLong("org_id") != orgId || e.getLong("amount_micros") != micros) {
          return Future.failedFuture(ApiError.of(409, "idempotency_key_reused",
              "This Idempotency-Key was already used for a different amount.", "Idempotency-Key"));
        }
        return Future.succeededFuture(new long[] {e.getLong("id"), 0});
      });
    }).compose(entry -> tx.preparedQuery(BALANCE).execute(Tuple.of(orgId))
        .map(rows -> new long[] {entry[0], entry[1], rows.iterator().next().getLong(0)})))
        .compose(result -> redis.send(Request.cmd(Command.DEL).arg(RedisKeys.balance(orgId))).<long[]>map(result)
            .recover(err -> {
              LOG.warn("Could not drop the hot balance of organization {}: {}", orgId, err.toString());
              return Future.succeededFuture(result);
            }))
        .onSuccess(r -> Json.send(ctx, r[1] == 1 ? 201 : 200, new JsonObject()
            .put("object", "admin.credit")
            .put("org_id", orgId)
            .put("ledger_entry_id", r[0])
            .put("kind", kind)
            .put("amount_micros", micros)
            .put("amount_usd", Money.formatUsd(micros))
            .put("reason", reason)
            .put("replayed", r[1] == 0)
            .put("balance_micros", r[2])
            .put("balance_usd", Money.formatUsd(r[2]))))
        .onFailure(ctx::fail);
  }

  // ---- models ---------------------------------------------------------------------------------------------------

  private void models(RoutingContext ctx) {
    pool.query(MODELS).execute().map(rows -> {
      JsonArray data = new JsonArray();
      rows.forEach(r -> data.add(model(r)));
      return new JsonObject().put("object", "list").put("data", data);
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /**
   * {input_price_usd_per_m?, output_price_usd_per_m?, active?, default_max_tokens?, max_max_tokens?}: prices are
   * exact decimal strings, stored as integer micro-USD per 1M tokens. Gateways reload the catalog via NOTIFY.
   */
  private void patchModel(RoutingContext ctx) {
    String modelId = ctx.pathParam("modelId");
    long adminId = ApiAuth.of(ctx).userId();
    JsonObject body = Json.body(ctx);
    List<String> assignments = new ArrayList<>();
    List<Object> values = new ArrayList<>();
    values.add(modelId);
    for (String field : body.fieldNames()) {
      switch (field) {
        case "input_price_usd_per_m", "output_price_usd_per_m" -> {
          values.add(price(body, field));
          assignments.add(field.replace("_usd_per_m", "_micros_per_m") + " = $" + values.size() + "::bigint");
        }
        case "active" -> {
          if (!(body.getValue(field) instanceof Boolean b)) {
            throw ApiError.invalidRequest("'active' must be true or false.", field);
          }
          values.add(b);
          assignments.add("active = $" + values.size() + "::boolean");
        }
        case "default_max_tokens", "max_max_tokens" -> {
          Object v = body.getValue(field);
          if (!(v instanceof Integer n) || n < 1) {
            throw ApiError.invalidRequest("'" + field + "' must be a whole number >= 1.", field);
          }
          values.add(n);
          assignments.add(field + " = $" + values.size() + "::int");
        }
        default -> throw ApiError.invalidRequest("Unknown field '" + field + "'; give input_price_usd_per_m,"
            + " output_price_usd_per_m, active, default_max_tokens and/or max_max_tokens.", field);
      }
    }
    if (assignments.isEmpty()) {
      throw ApiError.invalidRequest("Nothing to change.", null);
    }
    String sql = "UPDATE models SET " + String.join(", ", assignments) + " WHERE id = $1 RETURNING " + MODEL_COLUMNS;
    pool.withTransaction(tx -> tx.preparedQuery(MODEL_FOR_UPDATE).execute(Tuple.of(modelId)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.failedFuture(noSuch("model"));
      }
      JsonObject before = model(rows.iterator().next());
      return tx.preparedQuery(sql).execute(Tuple.from(values)).compose(updated -> {
        JsonObject after = model(updated.iterator().next());
        return AdminAudit.record(tx, adminId, "model.update", "model", modelId,
            new JsonObject().put("changes", body).put("before", before).put("after", after)).map(after);
      });
    })).recover(err -> {
      if (err instanceof PgException pg && "23514".equals(pg.getSqlState())) {
        return Future.failedFuture(ApiError.invalidRequest(
            "max_max_tokens must be at least default_max_tokens.", "max_max_tokens"));
      }
      return Future.failedFuture(err);
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private static long price(JsonObject body, String field) {
    if (!(body.getValue(field) instanceof String text)) {
      throw ApiError.invalidRequest("'" + field + "' must be a decimal string such as \"0.25\" (USD per 1M"
          + " tokens), not a number.", field);
    }
    long micros;
    try {
      micros = Money.parseUsd(text);
    } catch (IllegalArgumentException e) {
      throw ApiError.invalidRequest("'" + field + "' is not a USD price: " + e.getMessage() + ".", field);
    }
    if (micros < 0) {
      throw ApiError.invalidRequest("'" + field + "' must not be negative.", field);
    }
    return micros;
  }

  private static JsonObject model(Row r) {
    long in = r.getLong("input_price_micros_per_m");
    long out = r.getLong("output_price_micros_per_m");
    return new JsonObject()
        .put("id", r.getString("id"))
        .put("display_name", r.getString("display_name"))
        .put("kind", r.getString("kind"))
        .put("input_price_micros_per_m", in)
        .put("output_price_micros_per_m", out)
        .put("input_price_usd_per_m", Money.toUsd(in).toPlainString())
        .put("output_price_usd_per_m", Money.toUsd(out).toPlainString())
        .put("default_max_tokens", r.getInteger("default_max_tokens"))
        .put("max_max_tokens", r.getInteger("max_max_tokens"))
        .put("context_length", r.getInteger("context_length"))
        .put("active", r.getBoolean("active"));
  }

  // ---- backends -------------------------------------------------------------------------------------------------

  private void backends(RoutingContext ctx) {
    pool.query(BACKENDS).execute().map(rows -> {
      Map<Long, Backend> live = liveBackends();
      JsonArray data = new JsonArray();
      for (Row r : rows) {
        data.add(backend(r, live.get(r.getLong("id"))));
      }
      return new JsonObject().put("object", "list").put("data", data);
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private void addBackend(RoutingContext ctx) {
    long adminId = ApiAuth.of(ctx).userId();
    JsonObject body = Json.body(ctx);
    for (String field : body.fieldNames()) {
      if (!List.of("model", "url", "slots", "weight", "api_key").contains(field)) {
        throw ApiError.invalidRequest("Unknown field '" + field + "'; give model, url, slots, weight, api_key.",
            field);
      }
    }
    String model = Json.string(body, "model", 200);
    String url = Json.string(body, "url", 2000);
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw ApiError.invalidRequest("'url' is not a URL: " + e.getMessage(), "url");
    }
    if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
      throw ApiError.invalidRequest("'url' must be http(s)://host[:port], got '" + url + "'.", "url");
    }
    int slots = positiveInt(body, "slots", 4);
    int weight = positiveInt(body, "weight", 1);
    String apiKey = Json.optionalString(body, "api_key", 1000);
    pool.withTransaction(tx -> tx.preparedQuery(MODEL_EXISTS).execute(Tuple.of(model)).compose(found -> {
      if (found.size() == 0) {
        return Future.failedFuture(ApiError.invalidRequest("Unknown model '" + model + "'.", "model"));
      }
      return tx.preparedQuery(BACKEND_INSERT).execute(Tuple.of(model, url, apiKey, slots, weight));
    }).compose(rows -> {
      long id = rows.iterator().next().getLong(0);
      return AdminAudit.record(tx, adminId, "backend.add", "backend", id, new JsonObject().put("model", model)
          .put("url", url).put("slots", slots).put("weight", weight).put("api_key", apiKey != null)).map(id);
    })).recover(err -> {
      if (err instanceof PgException pg && "23505".equals(pg.getSqlState())) {
        return Future.failedFuture(ApiError.of(409, "conflict",
            "Model '" + model + "' already has a backend at " + url + ".", "url"));
      }
      return Future.failedFuture(err);
    }).compose(id -> pool.query(BACKENDS).execute().map(rows -> {
      for (Row r : rows) {
        if (r.getLong("id") == id) {
          return backend(r, null);
        }
      }
      throw new IllegalStateException("backend " + id + " vanished");
    })).onSuccess(json -> Json.send(ctx, 201, json)).onFailure(ctx::fail);
  }

  private void setBackendState(RoutingContext ctx, String state) {
    long id = pathId(ctx, "backendId", "backend");
    long adminId = ApiAuth.of(ctx).userId();
    backendChange(id, tx -> tx.preparedQuery(BACKEND_SET_STATE).execute(Tuple.of(id, state)).mapEmpty(),
        state.equals("draining") ? "backend.drain" : "backend.enable", adminId, state)
        .onSuccess(before -> Json.send(ctx, 200, before.put("state", state).put("object", "admin.backend")))
        .onFailure(ctx::fail);
  }

  private void removeBackend(RoutingContext ctx) {
    long id = pathId(ctx, "backendId", "backend");
    long adminId = ApiAuth.of(ctx).userId();
    backendChange(id, tx -> tx.preparedQuery(BACKEND_DELETE).execute(Tuple.of(id)).mapEmpty(), "backend.remove",
        adminId, null)
        .onSuccess(before -> Json.send(ctx, 200, new JsonObject().put("object", "admin.backend").put("id", id)
            .put("deleted", true)))
        .onFailure(ctx::fail);
  }

  /** Locks the backend row, applies the change and audits it; the result is the row as it was. */
  private Future<JsonObject> backendChange(long id, java.util.function.Function<io.vertx.sqlclient.SqlConnection,
      Future<Void>> change, String action, long adminId, String newState) {
    return pool.withTransaction(tx -> tx.preparedQuery(BACKEND_FOR_UPDATE).execute(Tuple.of(id)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.failedFuture(noSuch("backend"));
      }
      Row r = rows.iterator().next();
      JsonObject before = new JsonObject().put("id", id).put("model", r.getString("model_id"))
          .put("url", r.getString("base_url")).put("slots", r.getInteger("slots"))
          .put("weight", r.getInteger("weight")).put("state", r.getString("state"));
      JsonObject details = new JsonObject().put("before", before.copy());
      if (newState != null) {
        details.put("state", newState);
      }
      return change.apply(tx).compose(v -> AdminAudit.record(tx, adminId, action, "backend", id, details))
          .map(before);
    }));
  }

  private Map<Long, Backend> liveBackends() {
    Map<Long, Backend> live = new java.util.HashMap<>();
    if (registry != null) {
      for (ModelPool p : registry.pools()) {
        for (Backend b : p.backends()) {
          live.put(b.id(), b);
        }
      }
    }
    return live;
  }

  private static JsonObject backend(Row r, Backend live) {
    JsonObject json = new JsonObject()
        .put("object", "admin.backend")
        .put("id", r.getLong("id"))
        .put("model", r.getString("model_id"))
        .put("url", r.getString("base_url"))
        .put("slots", r.getInteger("slots"))
        .put("weight", r.getInteger("weight"))
        .put("state", r.getString("state"))
        .put("api_key", r.getBoolean("auth"))
        .put("created_at", time(r.getOffsetDateTime("created_at")));
    if (live != null) {
      json.put("health", live.health().name().toLowerCase()).put("in_flight", live.inFlightSnapshot());
    } else {
      json.put("health", null).put("in_flight", null);
    }
    return json;
  }

  // ---- monitor and audit ----------------------------------------------------------------------------------------

  private void monitor(RoutingContext ctx) {
    Future<RowSet<Row>> totals = pool.query(MONITOR_TOTALS).execute();
    Future<RowSet<Row>> top = pool.query(MONITOR_TOP_ORGS).execute();
    Future<RowSet<Row>> recent = pool.query(MONITOR_RECENT).execute();
    Future<RowSet<Row>> backends = pool.query(BACKENDS).execute();
    Future.all(totals, top, recent, backends).map(all -> {
      Row t = totals.result().iterator().next();
      JsonObject today = new JsonObject()
          .put("requests", t.getLong("requests"))
          .put("errors", t.getLong("errors"))
          .put("tokens", t.getLong("tokens"))
          .put("cost_micros", t.getLong("cost"))
          .put("cost_usd", Money.formatUsd(t.getLong("cost")));
      JsonArray topOrgs = new JsonArray();
      for (Row r : top.result()) {
        topOrgs.add(new JsonObject().put("org_id", r.getLong("org_id")).put("name", r.getString("name"))
            .put("requests", r.getLong("requests")).put("tokens", r.getLong("tokens"))
            .put("cost_micros", r.getLong("cost")).put("cost_usd", Money.formatUsd(r.getLong("cost"))));
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
      Map<Long, Backend> live = liveBackends();
      JsonArray health = new JsonArray();
      for (Row r : backends.result()) {
        health.add(backend(r, live.get(r.getLong("id"))));
      }
      return new JsonObject().put("object", "admin.monitor").put("today", today).put("top_orgs", topOrgs)
          .put("recent_requests", last).put("backends", health);
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private void audit(RoutingContext ctx) {
    int limit = (int) queryNumber(ctx, "limit", DEFAULT_PAGE, MAX_PAGE);
    long before = queryNumber(ctx, "before", 0, Long.MAX_VALUE);
    pool.preparedQuery(AUDIT).execute(Tuple.of(before == 0 ? null : before, limit + 1))
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

  // ---- helpers --------------------------------------------------------------------------------------------------

  private static JsonObject page(RowSet<Row> rows, int limit, java.util.function.Function<Row, JsonObject> item) {
    JsonArray data = new JsonArray();
    for (Row r : rows) {
      if (data.size() < limit) {
        data.add(item.apply(r));
      }
    }
    boolean more = rows.size() > limit;
    return new JsonObject().put("object", "list").put("data", data).put("has_more", more)
        .put("next_before", more ? data.getJsonObject(data.size() - 1).getLong("id") : null);
  }

  private static String query(RoutingContext ctx) {
    List<String> values = ctx.queryParam("q");
    if (values.isEmpty() || values.get(0).isBlank()) {
      return null;
    }
    String q = values.get(0).strip();
    if (q.length() > MAX_QUERY) {
      throw ApiError.invalidRequest("'q' is longer than " + MAX_QUERY + " characters.", "q");
    }
    return q;
  }

  private static long queryNumber(RoutingContext ctx, String name, long absent, long max) {
    List<String> values = ctx.queryParam(name);
    if (values.isEmpty() || values.get(0).isEmpty()) {
      return absent;
    }
    try {
      long v = Long.parseLong(values.get(0));
      if (v >= 1 && v <= max) {
        return v;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw ApiError.invalidRequest("'" + name + "' must be a whole number from 1" + (max == Long.MAX_VALUE ? ""
        : " to " + max) + ".", name);
  }

  private static int positiveInt(JsonObject body, String field, int absent) {
    Object v = body.getValue(field);
    if (v == null) {
      return absent;
    }
    if (!(v instanceof Integer n) || n < 1) {
      throw ApiError.invalidRequest("'" + field + "' must be a whole number >= 1.", field);
    }
    return n;
  }

  private static long pathId(RoutingContext ctx, String name, String what) {
    try {
      long id = Long.parseLong(ctx.pathParam(name));
      if (id > 0) {
        return id;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw noSuch(what);
  }

  private static ApiError noSuch(String what) {
    return ApiError.of(404, "not_found", "No such " + what + ".", null);
  }

  private static String time(Temporal t) {
    return t == null ? null : ((OffsetDateTime) t).toInstant().toString();
  }
}
