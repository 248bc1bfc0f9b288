package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.Money;
import ai.gpt.api.billing.plans.Plan;
import ai.gpt.api.billing.plans.PlanCatalog;
import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.error.ApiError;
import com.stripe.model.checkout.Session;
import com.stripe.param.checkout.SessionCreateParams;
import com.stripe.param.checkout.SessionCreateParams.LineItem;
import com.stripe.param.checkout.SessionCreateParams.LineItem.PriceData;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * Subscribing an organization to a plan: a Checkout Session in subscription mode. The organization and plan go in
 * {@code client_reference_id}, the session's metadata and the subscription's ({@code subscription_data[metadata]}),
 * so every subscription event and invoice names them. A plan with a {@code stripe_price_id} is sold with that
 * Price; otherwise with an inline monthly price ({@code price_data}, {@code recurring[interval]=month}) of its
 * monthly price. Nothing changes here until Stripe's webhook reports the subscription.
 */
final class SubscriptionCheckout {
  private final PlanCatalog plans;
  private final Subscriptions subscriptions;
  private final StripeCustomers customers;
  private final StripeApi stripe;
  private final BillingLinks links;

  SubscriptionCheckout(PlanCatalog plans, Subscriptions subscriptions, StripeCustomers customers, StripeApi stripe,
      BillingLinks links) {
    this.plans = plans;
    this.subscriptions = subscriptions;
    this.customers = customers;
    this.stripe = stripe;
    this.links = links;
  }

  /**
   * @throws ApiError 404 for an unknown plan, 400 plan_not_for_sale, 409 subscription_exists when the organization
   *                  already has a subscription that has not ended (changes go through the Billing Portal)
   */
  Future<JsonObject> start(long orgId, String planId) {
    return plans.find(planId).compose(plan -> {
      if (plan == null) {
        return Future.failedFuture(ApiError.of(404, "plan_not_found", "No plan '" + planId + "'.", "plan"));
      }
      if (!plan.forSale()) {
        return Future.failedFuture(ApiError.of(400, "plan_not_for_sale", "The plan '" + planId
            + "' is not offered for sale; GET /api/plans lists those that are.", "plan"));
      }
      return subscriptions.live(orgId).compose(live -> {
        if (live != null) {
          return Future.failedFuture(ApiError.of(409, "subscription_exists", "The organization already has a"
              + " subscription (" + live.id() + ", plan " + live.planId() + ", " + live.status() + "); change or"
              + " cancel it in the Billing Portal.", "plan"));
        }
        return customers.customerFor(orgId).compose(customer -> stripe.call("create the Checkout Session", c -> {
          Session s = c.v1().checkout().sessions().create(params(orgId, customer, plan));
          return new JsonObject().put("object", "checkout_session").put("id", s.getId()).put("url", s.getUrl())
              .put("org_id", orgId).put("plan", plan.toJson());
        }));
      });
    });
  }

  private SessionCreateParams params(long orgId, String customer, Plan plan) {
    String org = Long.toString(orgId);
    LineItem.Builder item = LineItem.builder().setQuantity(1L);
    if (plan.stripePriceId() != null) {
      item.setPrice(plan.stripePriceId());
    } else {
      item.setPriceData(PriceData.builder().setCurrency("usd")
          .setUnitAmount(plan.monthlyPriceMicros() / BillingSettings.MICROS_PER_CENT)
          .setRecurring(PriceData.Recurring.builder().setInterval(PriceData.Recurring.Interval.MONTH).build())
          .setProductData(PriceData.ProductData.builder().setName("GPT API " + plan.name())
              .setDescription(description(plan)).build())
          .build());
    }
    return SessionCreateParams.builder()
        .setMode(SessionCreateParams.Mode.SUBSCRIPTION)
        .setCustomer(customer)
        .setClientReferenceId(org)
        .putMetadata("org_id", org)
        .putMetadata("plan_id", plan.id())
        .setSubscriptionData(SessionCreateParams.SubscriptionData.builder().putMetadata("org_id", org)
            .putMetadata("plan_id", plan.id()).build())
        .addLineItem(item.build())
        .setSuccessUrl(links.billingPage(orgId, "subscription=success&session_id={CHECKOUT_SESSION_ID}"))
        .setCancelUrl(links.billingPage(orgId, "subscription=canceled"))
        .build();
  }

  /** What the payer reads on the payment page: the plan's description, else the credit each month includes. */
  private static String description(Plan plan) {
    return !plan.description().isEmpty() ? plan.description()
        : Money.formatUsd(plan.includedCreditMicros()) + " of API credit included each month";
  }
}
