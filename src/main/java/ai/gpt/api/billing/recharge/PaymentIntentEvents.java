package ai.gpt.api.billing.recharge;

import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.billing.stripe.StripeEvent;
import ai.gpt.api.billing.stripe.StripeEventHandler;
import ai.gpt.api.billing.stripe.StripeEvents;
import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.input.WholeNumber;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * PaymentIntent events. An auto-recharge charge (its metadata names the attempt) is credited on
 * {@code payment_intent.succeeded} once per PaymentIntent (ledger key {@code stripe:pi:<id>}), and fails the
 * attempt, turning auto-recharge off, on {@code payment_intent.payment_failed}. A top-up's PaymentIntent credits
 * nothing (its Checkout Session's event does, see TopUpEvents): its success only saves the card it was paid with
 * for off-session use, for auto-recharge.
 */
final class PaymentIntentEvents implements StripeEventHandler {
  /** The metadata key naming the auto-recharge attempt a PaymentIntent charges for. */
  static final String ATTEMPT = "auto_recharge_attempt";
  private static final int MAX_ID = 255;

  private final StripeEvents events;
  private final CreditDebits debits;
  private final RechargeFailures failures;
  private final WatchCache cache;

  PaymentIntentEvents(StripeEvents events, CreditDebits debits, RechargeFailures failures, WatchCache cache) {
    this.events = events;
    this.debits = debits;
    this.failures = failures;
    this.cache = cache;
  }

  @Override
  public Set<String> types() {
    return Set.of("payment_intent.succeeded", "payment_intent.payment_failed");
  }

  @Override
  public Future<StripeEvents.Outcome> apply(StripeEvent e) {
    JsonObject pi = e.object();
    if (text(pi, "id") == null) {
      return events.flag(e, null, "unexpected_payment");
    }
    Long attempt = attemptOf(pi);
    boolean succeeded = "payment_intent.succeeded".equals(e.type());
    return events.orgOf(pi).compose(orgId -> {
      if (orgId == null) {
        return events.flag(e, null, "unknown_org");
      }
      if (attempt == null) {
        return succeeded ? saveCard(e, orgId) : events.record(e, orgId, "payment_failed");
      }
      return succeeded ? credit(e, orgId, attempt) : fail(e, orgId, attempt);
    });
  }

  private Future<StripeEvents.Outcome> credit(StripeEvent e, long orgId, long attempt) {
    JsonObject pi = e.object();
    Long cents = e.amount("amount_received");
    if (cents == null || cents <= 0 || !"usd".equalsIgnoreCase(text(pi, "currency"))) {
      return events.flag(e, orgId, "unexpected_payment");
    }
    long micros = Math.multiplyExact(cents, BillingSettings.MICROS_PER_CENT);
    String id = e.objectId();
    String reason = "Stripe auto-recharge (payment intent " + id + ", attempt " + attempt + ", event " + e.id() + ")";
    return debits.credit(orgId, micros, () -> events.pool().withTransaction(tx -> CreditDebits.boundTransaction(tx)
            .compose(v -> events.writeWithLedger(tx, e, orgId, micros, "stripe:pi:" + id, reason, "credited"))
            .compose(outcome -> outcome == StripeEvents.DUPLICATE ? Future.succeededFuture(outcome)
                : RechargeAttempts.succeed(tx, attempt, orgId, id).map(outcome))),
        StripeEvents.Outcome::applied)
        // The charge is no longer pending: the next settlement below the threshold may charge again.
        .onSuccess(outcome -> cache.forget(orgId));
  }

  private Future<StripeEvents.Outcome> fail(StripeEvent e, long orgId, long attempt) {
    String reason = failureOf(e.object());
    return events.pool().withTransaction(tx -> events.record(tx, e, orgId, "recharge_failed").compose(outcome ->
            outcome == StripeEvents.DUPLICATE ? Future.succeededFuture(new Failed(outcome, null))
                : RechargeAttempts.fail(tx, attempt, e.objectId(), reason).map(amount -> new Failed(outcome, amount))))
        .onSuccess(f -> failures.failed(orgId, f.amountMicros(), reason))
        .map(Failed::outcome);
  }

  private record Failed(StripeEvents.Outcome outcome, Long amountMicros) {}

  /** A top-up paid with a card set up for later off-session charges: that card becomes the saved one. */
  private Future<StripeEvents.Outcome> saveCard(StripeEvent e, long orgId) {
    JsonObject pi = e.object();
    String card = text(pi, "payment_method");
    String customer = text(pi, "customer");
    if (card == null || customer == null || !"off_session".equals(pi.getValue("setup_future_usage"))) {
      return events.record(e, orgId, "recorded");
    }
    return events.orgOfCustomer(customer).compose(owner -> owner == null || owner != orgId
        ? events.flag(e, orgId, "customer_mismatch")
        : events.pool().withTransaction(tx -> events.record(tx, e, orgId, "card_saved").compose(outcome ->
            outcome == StripeEvents.DUPLICATE ? Future.succeededFuture(outcome)
                : AutoRechargeStore.saveCard(tx, orgId, card, customer, e.created()).map(outcome))));
  }

  /** Stripe's reason from {@code last_payment_error}: its code, decline code and message. */
  private static String failureOf(JsonObject pi) {
    JsonObject err = pi.getValue("last_payment_error") instanceof JsonObject o ? o : new JsonObject();
    String code = text(err, "code");
    String decline = text(err, "decline_code");
    String message = text(err, "message");
    return (code == null ? "payment_failed" : code) + (decline == null ? "" : " (" + decline + ")")
        + (message == null ? "" : ": " + message);
  }

  private static Long attemptOf(JsonObject pi) {
    String id = pi.getValue("metadata") instanceof JsonObject m ? text(m, ATTEMPT) : null;
    try {
      return id == null ? null : WholeNumber.parse(id, 1, Long.MAX_VALUE);
    } catch (IllegalArgumentException ignored) {
      return null;
    }
  }

  /** A short string field of untrusted JSON, else null. */
  private static String text(JsonObject o, String field) {
    return o.getValue(field) instanceof String s && !s.isEmpty() && s.length() <= MAX_ID ? s : null;
  }
}
