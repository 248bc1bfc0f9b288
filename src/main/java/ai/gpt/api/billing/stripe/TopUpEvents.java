package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.billing.Money;
import ai.gpt.api.billing.OwnerMail;
import ai.gpt.api.config.BillingSettings;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * Top-ups through Checkout: a paid session credits what was paid to the organization in its metadata, once per
 * session (ledger key {@code stripe:<checkout session>}), whichever of its events (completed, or
 * async_payment_succeeded for a delayed payment method) arrives first. A delayed payment that failed is e-mailed to
 * the owners (the payer left Checkout long before).
 */
final class TopUpEvents implements StripeEventHandler {
  /** Beyond any top-up; a larger amount in an event is not worth printing. */
  private static final long MAX_CENTS = 1_000_000_000L;
  private final StripeEvents events;
  private final CreditDebits debits;
  private final OwnerMail mail;
  private final BillingLinks links;

  TopUpEvents(StripeEvents events, CreditDebits debits, OwnerMail mail, BillingLinks links) {
    this.events = events;
    this.debits = debits;
    this.mail = mail;
    this.links = links;
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
      default -> failed(e);
    };
  }

  /**
   * Records the failure, then e-mails the owners once per event (a redelivery is a duplicate), after the row
   * committed and without waiting, so the webhook's answer never depends on the mail server.
   */
  private Future<StripeEvents.Outcome> failed(StripeEvent e) {
    Long orgId = StripeEvent.orgOf(e.object());
    Long cents = e.amount("amount_total");
    String amount = cents == null || cents <= 0 || cents > MAX_CENTS ? ""
        : " of " + Money.formatUsd(cents * BillingSettings.MICROS_PER_CENT);
    return events.record(e, orgId, "payment_failed").onSuccess(outcome -> {
      if (outcome != StripeEvents.DUPLICATE && orgId != null) {
        mail.send(orgId, "Your GPT API payment failed", org -> "The payment" + amount + " for credit for " + org
            + " failed, so no credit was added (checkout session " + e.objectId() + ").\n\nPlease try again on"
            + " the Billing page:\n" + links.billingPage(orgId, null) + "\n");
      }
    });
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
