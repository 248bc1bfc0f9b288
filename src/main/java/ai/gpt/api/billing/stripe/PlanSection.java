package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.plans.PlanCatalog;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;

/** {@code plan} of the billing state: the organization's plan, its price, included credit and limits. */
public final class PlanSection implements BillingStateSection {
  private final PlanCatalog plans;

  public PlanSection(Pool pool) {
    this.plans = new PlanCatalog(pool);
  }

  @Override
  public String name() {
    return "plan";
  }

  @Override
  public Future<Object> describe(long orgId) {
    return plans.ofOrg(orgId).map(plan -> plan == null ? null : plan.toJson());
  }
}
