package ai.gpt.api.billing;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.orgs.Memberships;
import ai.gpt.api.orgs.Role;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import java.util.UUID;

/**
 * An organization's credit: balance, ledger history (newest first, keyset-paginated by entry id) and transfers to
 * another organization of the caller. The ledger in PostgreSQL is the truth; a transfer is held against the
 * sender's available credit and both organizations' hot balances are dropped after it (see {@link Transfers}).
 */
public final class CreditRoutes implements ApiRoutes {
  static final int DEFAULT_PAGE = 50;
  static final int MAX_PAGE = 200;
  static final int MAX_REASON = 500;
  static final int MAX_IDEMPOTENCY_KEY = 200;
  private static final String PAGE = "SELECT " + LedgerSql.COLUMNS + " FROM credit_ledger WHERE org_id = $1"
      + " AND ($2::bigint IS NULL OR (created_at, id) < (SELECT created_at, id FROM credit_ledger"
      + " WHERE id = $2 AND org_id = $1)) ORDER BY created_at DESC, id DESC LIMIT $3";
  private static final String CURSOR_EXISTS = "SELECT 1 FROM credit_ledger WHERE id = $1 AND org_id = $2";

  private final Pool pool;
  private final Ledger ledger;
  private final Transfers transfers;
  private final Memberships memberships;

  public CreditRoutes(Pool pool, CreditDebits debits) {
    this.pool = pool;
    this.ledger = new Ledger(pool);
    this.transfers = new Transfers(pool, debits);
    this.memberships = new Memberships(pool);
  }

  @Override
  public void mountSignedIn(Router api) {
    api.get("/orgs/:orgId/credits").handler(this::balance);
    api.get("/orgs/:orgId/credits/ledger").handler(this::history);
    api.post("/orgs/:orgId/credits/transfer").handler(this::transfer);
  }

  private void balance(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.MEMBER)
        .compose(role -> ledger.balance(orgId))
        .map(micros -> new JsonObject().put("object", "credit_balance").put("org_id", orgId)
            .put("balance_micros", micros).put("balance_usd", Money.decimalUsd(micros)))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private void history(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.MEMBER).compose(role -> {
      int limit = (int) Json.queryNumber(ctx, "limit", DEFAULT_PAGE, MAX_PAGE);
      long before = Json.queryNumber(ctx, "before", 0, Long.MAX_VALUE);
      Future<Void> cursorOk = before == 0 ? Future.succeededFuture()
          : pool.preparedQuery(CURSOR_EXISTS).execute(Tuple.of(before, orgId)).compose(rows -> rows.size() > 0
              ? Future.succeededFuture()
              : Future.failedFuture(ApiError.invalidRequest("'before' is not an entry of this organization's ledger.",
                  "before")));
      return cursorOk.compose(v -> pool.preparedQuery(PAGE)
          .execute(Tuple.of(orgId, before == 0 ? null : before, limit + 1)).map(rows -> {
            JsonArray data = new JsonArray();
            for (Row r : rows) {
              if (data.size() < limit) {
                data.add(toJson(Transfers.entry(r)));
              }
            }
            boolean more = rows.size() > limit;
            return new JsonObject().put("object", "list").put("data", data).put("has_more", more)
                .put("next_before", more ? data.getJsonObject(data.size() - 1).getLong("id") : null);
          }));
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private void transfer(RoutingContext ctx) {
    long fromOrgId = Memberships.pathId(ctx, "orgId");
    long userId = ApiAuth.of(ctx).userId();
    memberships.require(fromOrgId, userId, Role.ADMIN).compose(role -> {
      JsonObject body = Json.body(ctx);
      long toOrgId = Json.wholeNumber(body.getValue("to_org_id"), "to_org_id", 1, Long.MAX_VALUE);
      if (toOrgId == fromOrgId) {
        throw ApiError.invalidRequest("'to_org_id' must be another organization than the sender.", "to_org_id");
      }
      long micros = Json.usd(body, "usd", false);
      if (micros == 0) {
        throw Json.invalidAmount("'usd' must be a positive amount.", "usd");
      }
      String reason = Json.string(body, "reason", MAX_REASON);
      String header = ctx.request().getHeader("Idempotency-Key");
      if (header != null && (header.isBlank() || header.length() > MAX_IDEMPOTENCY_KEY)) {
        throw ApiError.invalidRequest("The Idempotency-Key header must be 1 to " + MAX_IDEMPOTENCY_KEY
            + " characters.", "Idempotency-Key");
      }
      // Scoped to the sender, so one organization's keys can never meet (or probe) another's.
      String key = "api-transfer:" + fromOrgId + ":" + (header == null ? UUID.randomUUID() : header);
      // Any existing organization may receive credit by its id (paying a partner's or a customer's usage); the
      // sender learns only that the id exists, and reads nothing of it.
      return pool.preparedQuery("SELECT 1 FROM organizations WHERE id = $1").execute(Tuple.of(toOrgId)).compose(rows -> {
        if (rows.size() == 0) {
          return Future.failedFuture(ApiError.of(404, "not_found", "No organization " + toOrgId + ".", "to_org_id"));
        }
        return transfers.transfer(fromOrgId, toOrgId, micros, reason, key);
      });
    }).onSuccess(result -> Json.send(ctx, result.applied() ? 201 : 200, new JsonObject()
        .put("object", "credit_transfer")
        .put("from_org_id", result.out().orgId())
        .put("to_org_id", result.in().orgId())
        .put("amount_micros", result.in().amountMicros())
        .put("amount_usd", Money.decimalUsd(result.in().amountMicros()))
        .put("reason", result.in().reason())
        .put("replayed", !result.applied())
        .put("balance_micros", result.senderBalanceMicros())
        .put("balance_usd", Money.decimalUsd(result.senderBalanceMicros()))
        .put("entries", new JsonArray(List.of(toJson(result.out()), toJson(result.in()))))))
        .onFailure(ctx::fail);
  }

  static JsonObject toJson(LedgerEntry e) {
    return new JsonObject()
        .put("id", e.id())
        .put("kind", e.kind())
        .put("amount_micros", e.amountMicros())
        .put("amount_usd", Money.decimalUsd(e.amountMicros()))
        .put("reason", e.reason())
        .put("request_id", e.requestId())
        .put("created_at", e.createdAt() == null ? null : e.createdAt().toInstant().toString());
  }
}
