package ai.gpt.api.billing.recharge;

import ai.gpt.api.billing.stripe.BillingStateSection;
import io.vertx.core.Future;

/**
 * {@code auto_recharge} of the billing state: the settings and saved card (as the auto-recharge route shows them),
 * the last charge {status, amount, at, finished_at, failure_reason, payment_intent} and the daily cap with its use.
 */
final class AutoRechargeSection implements BillingStateSection {
  private final AutoRechargeStore store;
  private final RechargeAttempts attempts;
  private final int maxPerDay;

  AutoRechargeSection(AutoRechargeStore store, RechargeAttempts attempts, int maxPerDay) {
    this.store = store;
    this.attempts = attempts;
    this.maxPerDay = maxPerDay;
  }

  @Override
  public String name() {
    return "auto_recharge";
  }

  @Override
  public Future<Object> describe(long orgId) {
    return store.describe(orgId, maxPerDay).compose(settings -> attempts.describe(orgId)
        .map(history -> settings.mergeIn(history)));
  }
}
