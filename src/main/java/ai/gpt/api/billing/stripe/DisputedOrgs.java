package ai.gpt.api.billing.stripe;

import com.stripe.StripeClient;
import com.stripe.exception.InvalidRequestException;
import com.stripe.exception.StripeException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/**
 * The organization a dispute is about. Stripe copies no metadata onto disputes, so, in order: the dispute's own
 * row (a later event of a known dispute), metadata if some sender put it there, the events we stored about the
 * same PaymentIntent or charge (the top-up that paid it, a refund of it), and last the charge's customer, asked
 * from Stripe (a payment we never recorded, e.g. an invoice paid before V013).
 */
final class DisputedOrgs {
  private static final String OF_DISPUTE = "SELECT org_id FROM stripe_disputes WHERE id = $1";
  private static final String OF_PAYMENT = "SELECT org_id FROM stripe_events WHERE org_id IS NOT NULL"
      + " AND (payment_intent = $1 OR object_id = $2) ORDER BY received_at LIMIT 1";

  private final Pool pool;
  private final StripeEvents events;
  private final StripeApi stripe;

  DisputedOrgs(Pool pool, StripeEvents events, StripeApi stripe) {
    this.pool = pool;
    this.events = events;
    this.stripe = stripe;
  }

  /** The organization, or null when none of the ways finds one that exists. */
  Future<Long> orgOf(String disputeId, JsonObject dispute, String chargeId, String paymentIntent) {
    Long fromMetadata = StripeEvent.orgOf(dispute);
    return first(OF_DISPUTE, Tuple.of(disputeId))
        .compose(org -> org != null || fromMetadata == null ? Future.succeededFuture(org)
            : events.knownOrg(fromMetadata).map(known -> known ? fromMetadata : null))
        .compose(org -> org != null || (chargeId == null && paymentIntent == null) ? Future.succeededFuture(org)
            : first(OF_PAYMENT, Tuple.of(paymentIntent, chargeId)))
        .compose(org -> org != null || chargeId == null ? Future.succeededFuture(org)
            : stripe.call("look up the disputed charge", c -> customerOf(c, chargeId)).compose(events::orgOfCustomer));
  }

  /** The charge's customer; null when Stripe has no such charge (a made-up id: flagged, not retried forever). */
  private static String customerOf(StripeClient client, String chargeId) throws StripeException {
    try {
      return client.v1().charges().retrieve(chargeId).getCustomer();
    } catch (InvalidRequestException e) {
      if ("resource_missing".equals(e.getCode())) {
        return null;
      }
      throw e;
    }
  }

  private Future<Long> first(String sql, Tuple args) {
    return pool.preparedQuery(sql).execute(args).map(rows -> rows.size() == 0 ? null : rows.iterator().next().getLong(0));
  }
}
