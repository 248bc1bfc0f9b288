package ai.gpt.api.billing.stripe;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;

/** Reads {@code stripe_subscriptions}, which {@link SubscriptionEvents} keeps as Stripe reports it. */
final class Subscriptions {
  /** Statuses after which Stripe never changes a subscription again. */
  static final String ENDED = "('canceled', 'incomplete_expired')";
  private static final String COLUMNS = "id, org_id, plan_id, status, current_period_end, cancel_at_period_end";
  private static final String FIND = "SELECT " + COLUMNS + " FROM stripe_subscriptions WHERE id = $1";
  /** The newest, should an organization have two (two checkouts completed at once). */
  private static final String LIVE = "SELECT " + COLUMNS + " FROM stripe_subscriptions WHERE org_id = $1"
      + " AND status NOT IN " + ENDED + " ORDER BY event_created DESC, id DESC LIMIT 1";

  /** One subscription as last reported. */
  record Subscription(String id, long orgId, String planId, String status, OffsetDateTime currentPeriodEnd,
      boolean cancelAtPeriodEnd) {
    JsonObject toJson() {
      return new JsonObject().put("object", "subscription").put("id", id).put("plan_id", planId)
          .put("status", status)
          .put("current_period_end", currentPeriodEnd == null ? null : currentPeriodEnd.toInstant().toString())
          .put("cancel_at_period_end", cancelAtPeriodEnd);
    }
  }

  private final Pool pool;

  Subscriptions(Pool pool) {
    this.pool = pool;
  }

  /** The subscription, or null when no event about it was applied yet. */
  Future<Subscription> find(String id) {
    return pool.preparedQuery(FIND).execute(Tuple.of(id)).map(Subscriptions::first);
  }

  /** The organization's subscription that has not ended (active, past due, unpaid, paused…), or null. */
  Future<Subscription> live(long orgId) {
    return pool.preparedQuery(LIVE).execute(Tuple.of(orgId)).map(Subscriptions::first);
  }

  private static Subscription first(RowSet<Row> rows) {
    if (rows.size() == 0) {
      return null;
    }
    Row r = rows.iterator().next();
    return new Subscription(r.getString("id"), r.getLong("org_id"), r.getString("plan_id"), r.getString("status"),
        r.getOffsetDateTime("current_period_end"), r.getBoolean("cancel_at_period_end"));
  }
}
