package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.Money;
import ai.gpt.api.config.BillingSettings;
import com.stripe.model.Charge;
import com.stripe.param.ChargeListParams;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * The {@code payments} part of the billing state: the customer's latest charges as Stripe lists them
 * ({@code GET /v1/charges?customer=…}). Asked from Stripe rather than read from our stored events because only
 * Stripe has the receipt URL, and the charge as it is now (refunded since, disputed): events are kept only for
 * what they changed. Every kind of payment is there (top-ups, auto-recharges, subscription invoices).
 */
final class PaymentsSection implements BillingStateSection {
  static final long SHOWN = 20;

  private final StripeCustomers customers;
  private final StripeApi stripe;

  PaymentsSection(StripeCustomers customers, StripeApi stripe) {
    this.customers = customers;
    this.stripe = stripe;
  }

  @Override
  public String name() {
    return "payments";
  }

  @Override
  public Future<Object> describe(long orgId) {
    return customers.existing(orgId).compose(customer -> customer == null
        ? Future.succeededFuture(new JsonArray())
        : stripe.call("list the payments", c -> c.v1().charges().list(ChargeListParams.builder()
            .setCustomer(customer).setLimit(SHOWN).build()).getData()).map(charges -> {
              JsonArray data = new JsonArray();
              charges.forEach(ch -> data.add(toJson(ch)));
              return data;
            }));
  }

  private static JsonObject toJson(Charge ch) {
    long amount = cents(ch.getAmount()) * BillingSettings.MICROS_PER_CENT;
    long refunded = cents(ch.getAmountRefunded()) * BillingSettings.MICROS_PER_CENT;
    return new JsonObject().put("id", ch.getId()).put("payment_intent", ch.getPaymentIntent())
        .put("currency", ch.getCurrency()).put("amount_micros", amount).put("amount_usd", Money.decimalUsd(amount))
        .put("amount_refunded_micros", refunded).put("amount_refunded_usd", Money.decimalUsd(refunded))
        .put("status", ch.getStatus()).put("refunded", Boolean.TRUE.equals(ch.getRefunded()))
        .put("disputed", Boolean.TRUE.equals(ch.getDisputed())).put("receipt_url", ch.getReceiptUrl())
        .put("description", ch.getDescription())
        .put("created", ch.getCreated() == null ? null : Instant.ofEpochSecond(ch.getCreated()).toString());
  }

  private static long cents(Long value) {
    return value == null ? 0 : value;
  }
}
