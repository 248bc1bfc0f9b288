package ai.gpt.api.admin;

import static ai.gpt.api.admin.AdminParams.noSuch;
import static ai.gpt.api.admin.AdminParams.pathId;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.Json;
import ai.gpt.api.billing.Money;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.limits.RedisKeys;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** POST /admin/orgs/:orgId/credits: deposits into or deducts from an organization's credit ledger. */
final class AdminCreditRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(AdminCreditRoutes.class);
  private static final int MAX_REASON = 500;
  private static final int MAX_IDEMPOTENCY_KEY = 200;

  private static final String ORG_EXISTS = "SELECT 1 FROM organizations WHERE id = $1";
  private static final String LEDGER_INSERT = "INSERT INTO credit_ledger (org_id, amount_micros, kind, reason,"
      + " idempotency_key) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id";
  private static final String LEDGER_BY_KEY = "SELECT id, org_id, amount_micros FROM credit_ledger"
      + " WHERE idempotency_key = $1";
  private static final String BALANCE = "SELECT COALESCE(SUM(amount_micros), 0)::bigint FROM credit_ledger"
      + " WHERE org_id = $1";

  private final Pool pool;
  private final Redis redis;

  AdminCreditRoutes(Pool pool, Redis redis) {
    this.pool = pool;
    this.redis = redis;
  }

  void mount(Router api) {
    api.post("/admin/orgs/:orgId/credits").handler(this::credits);
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
}
