package ai.gpt.api.billing.stripe;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;

/**
 * {@code subscription} of the billing state: the organization's subscription that has not ended (id, plan_id,
 * status, current_period_end, cancel_at_period_end), or null.
 */
public final class SubscriptionSection implements BillingStateSection {
  private final Subscriptions subscriptions;

  public SubscriptionSection(Pool pool) {
    this.subscriptions = new Subscriptions(pool);
  }

  @Override
  public String name() {
    return "subscription";
  }

  @Override
  public Future<Object> describe(long orgId) {
    return subscriptions.live(orgId).map(sub -> sub == null ? null : sub.toJson());
  }
}
