package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.config.BillingSettings;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * Top-ups through Checkout: a paid session credits what was paid to the organization in its metadata, once per
 * session (ledger key {@code stripe:<checkout session>}), whichever of its events (completed, or
 * async_payment_succeeded for a delayed payment method) arrives first.
 */
final class TopUpEvents implements StripeEventHandler {
  private final StripeEvents events;
  private final CreditDebits debits;

  TopUpEvents(StripeEvents events, CreditDebits debits) {
    this.events = events;
    this.debits = debits;
  }

  @Override
  public Set<String> types() {
    return Set.of("checkout.session.completed", "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed");
  }

  @Override
  public Future<StripeEvents.Outcome> apply(StripeEvent e) {
    return switch (e.type()) {
      case "checkout.session.completed" -> "paid".equals(e.object().getString("payment_status"))
          ? credit(e) : events.record(e, StripeEvent.orgOf(e.object()), "payment_pending");
      case "checkout.session.async_payment_succeeded" -> credit(e);
      default -> events.record(e, StripeEvent.orgOf(e.object()), "payment_failed");
    };
  }

  private Future<StripeEvents.Outcome> credit(StripeEvent e) {
    JsonObject session = e.object();
    Long orgId = StripeEvent.orgOf(session);
    Long cents = e.amount("amount_total");
    if (!"payment".equals(session.getString("mode")) || cents == null || cents <= 0
        || !"usd".equalsIgnoreCase(session.getString("currency"))) {
      return events.flag(e, orgId, "unexpected_payment");
    }
    long micros = Math.multiplyExact(cents, BillingSettings.MICROS_PER_CENT);
    String key = "stripe:" + e.objectId();
    String reason = "Stripe top-up (checkout session " + e.objectId() + ", payment intent "
        + session.getString("payment_intent") + ", event " + e.id() + ")";
    return events.knownOrg(orgId).compose(known -> !known ? events.flag(e, orgId, "unknown_org")
        : debits.credit(orgId, micros, () -> events.pool().withTransaction(tx -> CreditDebits.boundTransaction(tx)
            .compose(v -> events.writeWithLedger(tx, e, orgId, micros, key, reason, "credited"))),
            StripeEvents.Outcome::applied));
  }
}
