package ai.gpt.api.billing.stripe;

import io.vertx.core.Future;
import java.util.Set;

/**
 * Applies the Stripe events of one feature (top-ups, refunds, …). {@link StripeWebhook} has already verified the
 * signature and seen that the event id is new; the handler must still write the event's row through
 * {@link StripeEvents} in the same transaction as its effect, so a concurrent delivery of the same event does
 * nothing.
 */
public interface StripeEventHandler {
  /** The event types this handler applies. */
  Set<String> types();

  Future<StripeEvents.Outcome> apply(StripeEvent event);
}
