package ai.gpt.api.billing.stripe;

import io.vertx.core.Future;

/**
 * One part of an organization's billing state ({@code GET /api/orgs/{id}/billing}), contributed by the feature
 * that owns it (customer and payments, plan and subscription, auto-recharge, disputes), so the state route does
 * not need to know each feature's tables.
 */
public interface BillingStateSection {
  /** The JSON field this section fills. */
  String name();

  /** The section's value for one organization: a JsonObject, JsonArray or null. */
  Future<Object> describe(long orgId);
}
