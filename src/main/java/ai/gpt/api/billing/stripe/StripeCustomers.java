package ai.gpt.api.billing.stripe;

import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/** One Stripe customer per organization, created on first need and stored in {@code stripe_customers}. */
public final class StripeCustomers {
  private static final String FIND = "SELECT customer_id FROM stripe_customers WHERE org_id = $1";
  private static final String ORG_NAME = "SELECT name FROM organizations WHERE id = $1";
  private static final String INSERT = "INSERT INTO stripe_customers (org_id, customer_id) VALUES ($1, $2)"
      + " ON CONFLICT (org_id) DO NOTHING";

  private final Pool pool;
  private final StripeApi stripe;

  public StripeCustomers(Pool pool, StripeApi stripe) {
    this.pool = pool;
    this.stripe = stripe;
  }

  /** The organization's customer id, creating the customer at Stripe on first need. */
  public Future<String> customerFor(long orgId) {
    return find(orgId).compose(found -> found != null ? Future.succeededFuture(found)
        : pool.preparedQuery(ORG_NAME).execute(Tuple.of(orgId)).compose(rows -> rows.size() == 0
            ? Future.failedFuture(ApiError.notFound("No organization " + orgId + "."))
            : stripe.createCustomer(orgId, rows.iterator().next().getString(0)))
        // Two first checkouts at once: the first stored wins, and both use it.
        .compose(created -> pool.preparedQuery(INSERT).execute(Tuple.of(orgId, created)))
        .compose(v -> find(orgId)));
  }

  /** The organization's customer id, or null when it has none yet (never creates one). */
  public Future<String> existing(long orgId) {
    return find(orgId);
  }

  private Future<String> find(long orgId) {
    return pool.preparedQuery(FIND).execute(Tuple.of(orgId))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getString(0));
  }
}
