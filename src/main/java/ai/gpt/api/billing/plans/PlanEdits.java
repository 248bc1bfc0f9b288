package ai.gpt.api.billing.plans;

import ai.gpt.api.admin.AdminAudit;
import ai.gpt.api.auth.KeyInvalidations;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;

/**
 * Creating and changing plans, for the admin API and the CLI alike: the change and its {@link AdminAudit} row in
 * one transaction; then, when limits changed, every gateway reloads its keys (an organization's limits are cached
 * with each of its keys), as for an organization's own limits.
 */
public final class PlanEdits {
  private static final String FOR_UPDATE = "SELECT " + Plan.COLUMNS + " FROM plans WHERE id = $1 FOR UPDATE";

  private final Pool pool;
  private final Redis redis;

  public PlanEdits(Pool pool, Redis redis) {
    this.pool = pool;
    this.redis = redis;
  }

  /**
   * A new plan ({@code name} required); {@code adminUserId} null for the CLI.
   *
   * @throws ApiError 409 plan_exists, 400 for a combination the table refuses
   */
  public Future<Plan> create(Long adminUserId, String id, PlanChanges changes) {
    if (!changes.has("name")) {
      throw ApiError.invalidRequest("'name' is required for a new plan.", "name");
    }
    List<String> columns = new ArrayList<>(List.of("id"));
    List<String> params = new ArrayList<>(List.of("$1"));
    List<Object> values = new ArrayList<>(List.of(id));
    changes.columns().forEach((column, value) -> {
      values.add(value);
      columns.add(column);
      params.add("$" + values.size() + PlanChanges.cast(column));
    });
    String sql = "INSERT INTO plans (" + String.join(", ", columns) + ") VALUES (" + String.join(", ", params)
        + ") ON CONFLICT (id) DO NOTHING RETURNING " + Plan.COLUMNS;
    return write(tx -> tx.preparedQuery(sql).execute(Tuple.from(values)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.failedFuture(ApiError.of(409, "plan_exists", "A plan '" + id + "' already exists.", "id"));
      }
      Plan plan = Plan.of(rows.iterator().next());
      return AdminAudit.record(tx, adminUserId, "plan.create", "plan", id, details(adminUserId)
          .put("after", plan.toAdminJson())).map(plan);
    }), false);
  }

  /** Changes the given fields; {@code adminUserId} null for the CLI. 404 for an unknown plan. */
  public Future<Plan> update(Long adminUserId, String id, PlanChanges changes) {
    if (changes.isEmpty()) {
      throw ApiError.invalidRequest("Nothing to change: give at least one of " + String.join(", ",
          PlanChanges.FIELDS) + ".", null);
    }
    List<String> assignments = new ArrayList<>();
    List<Object> values = new ArrayList<>(List.of(id));
    changes.columns().forEach((column, value) -> {
      values.add(value);
      assignments.add(column + " = $" + values.size() + PlanChanges.cast(column));
    });
    String sql = "UPDATE plans SET " + String.join(", ", assignments) + ", updated_at = now() WHERE id = $1"
        + " RETURNING " + Plan.COLUMNS;
    return write(tx -> tx.preparedQuery(FOR_UPDATE).execute(Tuple.of(id)).compose(found -> {
      if (found.size() == 0) {
        return Future.failedFuture(ApiError.of(404, "not_found", "No plan '" + id + "'.", null));
      }
      Plan before = Plan.of(found.iterator().next());
      return tx.preparedQuery(sql).execute(Tuple.from(values)).compose(rows -> {
        Plan after = Plan.of(rows.iterator().next());
        return AdminAudit.record(tx, adminUserId, "plan.update", "plan", id, details(adminUserId)
            .put("before", before.toAdminJson()).put("after", after.toAdminJson())).map(after);
      });
    }), changes.changesLimits());
  }

  private interface Write {
    Future<Plan> run(io.vertx.sqlclient.SqlConnection tx);
  }

  private Future<Plan> write(Write write, boolean reloadKeys) {
    Future<Plan> written = pool.withTransaction(write::run).recover(err -> Future.failedFuture(refusal(err)));
    return !reloadKeys ? written
        : written.compose(plan -> KeyInvalidations.publishAllAfter(redis, "changing plan " + plan.id()).map(plan));
  }

  /** The table's constraints, as the 400s they are. */
  private static Throwable refusal(Throwable err) {
    if (!(err instanceof PgException pg)) {
      return err;
    }
    String constraint = pg.getConstraint() == null ? "" : pg.getConstraint();
    return switch (constraint) {
      case "plans_default_not_for_sale" -> ApiError.invalidRequest("The default plan is the free fallback of every"
          + " organization without a subscription; it cannot be for sale.", "for_sale");
      case "plans_for_sale_priced" -> ApiError.invalidRequest("A plan for sale needs a monthly_price_usd above 0.",
          "monthly_price_usd");
      case "plans_stripe_price_id_key" -> ApiError.invalidRequest("Another plan already uses this Stripe Price.",
          "stripe_price_id");
      default -> err;
    };
  }

  private static JsonObject details(Long adminUserId) {
    return adminUserId == null ? new JsonObject().put("via", "cli") : new JsonObject();
  }
}
