package ai.gpt.api.billing.recharge;

import ai.gpt.api.billing.stripe.StripeApi;
import ai.gpt.api.config.BillingSettings;
import com.stripe.exception.CardException;
import com.stripe.exception.InvalidRequestException;
import com.stripe.exception.StripeException;
import com.stripe.model.PaymentIntent;
import com.stripe.net.RequestOptions;
import com.stripe.param.PaymentIntentCreateParams;
import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Charges the saved card: begins the attempt (committed as pending, so only one is in flight per organization
 * across replicas), then creates and confirms an off-session PaymentIntent. Credit comes only from its
 * payment_intent.succeeded event. A refusal fails the attempt ({@link RechargeFailures}); a call whose outcome is
 * unknown (Stripe unreachable, a 5xx) leaves it pending: its event resolves it, or it expires.
 */
final class RechargeCharger {
  private static final Logger LOG = LoggerFactory.getLogger(RechargeCharger.class);

  /** Stripe's answer: the PaymentIntent (null if none was made) and why it cannot succeed (null if it can). */
  private record Charge(String paymentIntent, String failure) {}

  private final RechargeAttempts attempts;
  private final StripeApi stripe;
  private final RechargeFailures failures;

  RechargeCharger(RechargeAttempts attempts, StripeApi stripe, RechargeFailures failures) {
    this.attempts = attempts;
    this.stripe = stripe;
    this.failures = failures;
  }

  /** Begins a charge if one is due; whether one was begun. */
  Future<Boolean> start(long orgId) {
    return attempts.begin(orgId).compose(begun -> {
      if (!(begun instanceof RechargeAttempts.Started s)) {
        LOG.info("Auto-recharge of organization {} not started: {}", orgId, begun);
        return Future.succeededFuture(false);
      }
      return charge(orgId, s).compose(charge -> charge.failure() == null
          ? attempts.charged(s.attemptId(), charge.paymentIntent())
          : failures.fail(orgId, s.attemptId(), charge.paymentIntent(), charge.failure())).map(true);
    });
  }

  private Future<Charge> charge(long orgId, RechargeAttempts.Started s) {
    PaymentIntentCreateParams params = PaymentIntentCreateParams.builder()
        .setAmount(s.amountMicros() / BillingSettings.MICROS_PER_CENT).setCurrency("usd")
        .setCustomer(s.customer()).setPaymentMethod(s.paymentMethod()).setOffSession(true).setConfirm(true)
        .setDescription("GPT API auto-recharge")
        .putMetadata("org_id", Long.toString(orgId))
        .putMetadata(PaymentIntentEvents.ATTEMPT, Long.toString(s.attemptId()))
        .build();
    // Per attempt: stripe-java's retries, and a retry after a lost answer, never charge twice.
    RequestOptions options = RequestOptions.builder().setIdempotencyKey("gptapi-auto-recharge-" + s.attemptId())
        .build();
    return stripe.call("charge the saved card", c -> {
      try {
        PaymentIntent pi = c.v1().paymentIntents().create(params, options);
        return new Charge(pi.getId(), unusable(pi.getStatus()));
      } catch (CardException e) { // 402: declined, or the bank wants authentication the payer is not there for
        return new Charge(paymentIntentOf(e), e.getCode() + (e.getDeclineCode() == null ? ""
            : " (" + e.getDeclineCode() + ")") + ": " + messageOf(e));
      } catch (InvalidRequestException e) { // the card or customer is gone, or the card cannot be used
        return new Charge(paymentIntentOf(e), "refused by Stripe: " + messageOf(e));
      }
    });
  }

  /** Why a created PaymentIntent cannot succeed without the payer, or null (succeeded, or processing). */
  private static String unusable(String status) {
    return switch (String.valueOf(status)) {
      case "succeeded", "processing" -> null;
      case "requires_action" -> "authentication_required: the bank asks the cardholder to authenticate this"
          + " payment, which an automatic charge cannot do";
      case "requires_payment_method" -> "card_declined: the card was declined";
      default -> "the payment is " + status;
    };
  }

  private static String paymentIntentOf(StripeException e) {
    return e.getStripeError() != null && e.getStripeError().getPaymentIntent() != null
        ? e.getStripeError().getPaymentIntent().getId() : null;
  }

  private static String messageOf(StripeException e) {
    return e.getStripeError() != null && e.getStripeError().getMessage() != null ? e.getStripeError().getMessage()
        : e.getMessage();
  }
}
