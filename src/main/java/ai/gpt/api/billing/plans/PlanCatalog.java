package ai.gpt.api.billing.plans;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;

/** Reads the {@code plans} table. */
public final class PlanCatalog {
  private static final String FIND = "SELECT " + Plan.COLUMNS + " FROM plans WHERE id = $1";
  private static final String ORDER = " ORDER BY monthly_price_micros, id";
  private static final String FOR_SALE = "SELECT " + Plan.COLUMNS + " FROM plans WHERE for_sale" + ORDER;
  private static final String ALL = "SELECT " + Plan.COLUMNS + " FROM plans" + ORDER;
  private static final String OF_ORG = "SELECT " + Plan.COLUMNS + " FROM plans"
      + " WHERE id = (SELECT plan_id FROM organizations WHERE id = $1)";
  private static final String BY_PRICE = "SELECT id FROM plans WHERE stripe_price_id = ANY($1) ORDER BY id LIMIT 1";

  private final Pool pool;

  public PlanCatalog(Pool pool) {
    this.pool = pool;
  }

  /** The plan, or null. */
  public Future<Plan> find(String id) {
    return find(pool, id);
  }

  /** The plan, or null, read through {@code client} (a transaction's connection, or the pool). */
  public static Future<Plan> find(SqlClient client, String id) {
    return client.preparedQuery(FIND).execute(Tuple.of(id)).map(PlanCatalog::first);
  }

  /** The plans offered for sale, cheapest first. */
  public Future<List<Plan>> forSale() {
    return pool.query(FOR_SALE).execute().map(PlanCatalog::list);
  }

  /** Every plan, cheapest first. */
  public Future<List<Plan>> all() {
    return pool.query(ALL).execute().map(PlanCatalog::list);
  }

  /** The organization's plan, or null for an unknown organization. */
  public Future<Plan> ofOrg(long orgId) {
    return pool.preparedQuery(OF_ORG).execute(Tuple.of(orgId)).map(PlanCatalog::first);
  }

  /** The plan sold with one of these Stripe Prices, or null. */
  public Future<String> idForPrices(List<String> priceIds) {
    return priceIds.isEmpty() ? Future.succeededFuture(null)
        : pool.preparedQuery(BY_PRICE).execute(Tuple.of(priceIds.toArray(String[]::new)))
            .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getString(0));
  }

  private static Plan first(RowSet<Row> rows) {
    return rows.size() == 0 ? null : Plan.of(rows.iterator().next());
  }

  private static List<Plan> list(RowSet<Row> rows) {
    List<Plan> plans = new ArrayList<>();
    rows.forEach(r -> plans.add(Plan.of(r)));
    return plans;
  }
}
