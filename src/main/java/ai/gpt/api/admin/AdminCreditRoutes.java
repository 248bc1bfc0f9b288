package ai.gpt.api.admin;

import static ai.gpt.api.admin.AdminParams.noSuch;
import static ai.gpt.api.admin.AdminParams.pathId;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.Json;
import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.billing.LedgerSql;
import ai.gpt.api.billing.Money;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.UUID;
import java.util.function.Supplier;

/** POST /admin/orgs/:orgId/credits: deposits into or deducts from an organization's credit ledger. */
final class AdminCreditRoutes {
  private static final int MAX_REASON = 500;
  private static final int MAX_IDEMPOTENCY_KEY = 200;

  /** The ledger row of a credit or deduction, whether this call wrote it, and the balance after. */
  private record Posted(long entryId, boolean applied, long balanceMicros) {}

  private final Pool pool;
  private final CreditDebits debits;

  AdminCreditRoutes(Pool pool, CreditDebits debits) {
    this.pool = pool;
    this.debits = debits;
  }

  void mount(Router api) {
    api.post("/admin/orgs/:orgId/credits").handler(this::credits);
  }

  /**
   * {usd: "10.00" (negative deducts), reason}: one ledger row ('credit' or 'adjustment') under an idempotency key
   * (the Idempotency-Key header, else a fresh one) and its audit row in one transaction, applied to the hot balance
   * by {@link CreditDebits}. A deduction is held first against the available credit and refused beyond it (402
   * insufficient_quota), so no balance is ever taken below zero by an admin.
   */
  private void credits(RoutingContext ctx) {
    long orgId = pathId(ctx, "orgId", "organization");
    long adminId = ApiAuth.of(ctx).userId();
    JsonObject body = Json.body(ctx);
    long micros = Json.usd(body, "usd", true);
    if (micros == 0) {
      throw Json.invalidAmount("'usd' must not be zero.", "usd");
    }
    String reason = Json.string(body, "reason", MAX_REASON);
    String header = ctx.request().getHeader("Idempotency-Key");
    if (header != null && (header.isBlank() || header.length() > MAX_IDEMPOTENCY_KEY)) {
      throw ApiError.invalidRequest("The Idempotency-Key header must be 1 to " + MAX_IDEMPOTENCY_KEY
          + " characters.", "Idempotency-Key");
    }
    String key = "admin-credit:" + orgId + ":" + (header == null ? UUID.randomUUID() : header);
    String kind = micros > 0 ? "credit" : "adjustment";
    pool.preparedQuery(LedgerSql.ORG_EXISTS).execute(Tuple.of(orgId)).compose(exists -> exists.size() == 0
            ? Future.failedFuture(noSuch("organization"))
            : replay(pool, orgId, micros, key))
        .compose(prior -> {
          if (prior != null) {
            return Future.succeededFuture(prior);
          }
          Supplier<Future<Posted>> write = () -> pool.withTransaction(tx -> CreditDebits.boundTransaction(tx)
              .compose(v -> tx.preparedQuery(LedgerSql.INSERT).execute(Tuple.of(orgId, micros, kind, reason, key)))
              .compose(inserted -> inserted.size() == 0
                  // A concurrent call with the same Idempotency-Key committed first.
                  ? replay(tx, orgId, micros, key)
                  : audit(tx, adminId, orgId, micros, reason, key, inserted.iterator().next().getLong(0)))
              // Above the cap (or beyond a bigint, 22003), the transaction is rolled back: nothing is credited.
              .compose(posted -> posted.applied() && posted.balanceMicros() > Money.MAX_BALANCE_MICROS
                  ? Future.failedFuture(balanceTooLarge()) : Future.succeededFuture(posted)))
              .recover(err -> Future.failedFuture(err instanceof PgException pg && "22003".equals(pg.getSqlState())
                  ? balanceTooLarge() : err));
          // A deduction is held against the available credit (balance − holds − queued usage) like a request.
          return micros < 0 ? debits.debit(orgId, -micros, key, write, Posted::applied)
              : debits.credit(orgId, micros, write, Posted::applied);
        })
        .onSuccess(r -> Json.send(ctx, r.applied() ? 201 : 200, new JsonObject()
            .put("object", "admin.credit")
            .put("org_id", orgId)
            .put("ledger_entry_id", r.entryId())
            .put("kind", kind)
            .put("amount_micros", micros)
            .put("amount_usd", Money.decimalUsd(micros))
            .put("reason", reason)
            .put("replayed", !r.applied())
            .put("balance_micros", r.balanceMicros())
            .put("balance_usd", Money.decimalUsd(r.balanceMicros()))))
        .onFailure(ctx::fail);
  }

  private static ApiError balanceTooLarge() {
    return Json.invalidAmount("This credit would take the organization's balance above "
        + Money.decimalUsd(Money.MAX_BALANCE_MICROS) + " USD.", "usd");
  }

  private static Future<Posted> audit(SqlConnection tx, long adminId, long orgId, long micros, String reason,
      String key, long entryId) {
    return AdminAudit.record(tx, adminId, micros > 0 ? "credits.deposit" : "credits.deduct", "organization",
            orgId, new JsonObject().put("amount_micros", micros).put("amount_usd", Money.decimalUsd(micros))
                .put("reason", reason).put("ledger_entry_id", entryId).put("idempotency_key", key))
        .compose(v -> balance(tx, orgId)).map(balance -> new Posted(entryId, true, balance));
  }

  /** The row a first call with this key made, null if none; 409 for another amount. */
  private static Future<Posted> replay(SqlClient client, long orgId, long micros, String key) {
    return client.preparedQuery(LedgerSql.BY_KEY).execute(Tuple.of(key)).compose(existing -> {
      if (existing.size() == 0) {
        return Future.succeededFuture(null);
      }
      Row e = existing.iterator().next();
      if (e.getLong("org_id") != orgId || e.getLong("amount_micros") != micros) {
        return Future.failedFuture(ApiError.of(409, "idempotency_key_reused",
            "This Idempotency-Key was already used for a different amount.", "Idempotency-Key"));
      }
      return balance(client, orgId).map(balance -> new Posted(e.getLong("id"), false, balance));
    });
  }

  private static Future<Long> balance(SqlClient client, long orgId) {
    return client.preparedQuery(LedgerSql.BALANCE).execute(Tuple.of(orgId))
        .map(rows -> rows.iterator().next().getLong(0));
  }
}
