package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.util.Set;

/**
 * A charge refunded (wholly or partly): debits what was refunded since the last refund event of the charge, even
 * beyond the available credit (the money is gone), so the balance may go negative and the API answers 402. The
 * ledger key is per refund state ({@code stripe:refund:<charge>:<amount refunded>}), and the refund events of one
 * charge are serialized, so out-of-order and concurrent deliveries debit each refunded cent once.
 */
final class RefundEvents implements StripeEventHandler {
  private static final String REFUNDED = "SELECT COALESCE(SUM(amount_micros), 0)::bigint FROM stripe_events"
      + " WHERE object_id = $1 AND outcome = 'debited'";
  private static final String LOCK_CHARGE = "SELECT pg_advisory_xact_lock(hashtext('stripe-charge:' || $1))";

  private final StripeEvents events;
  private final CreditDebits debits;

  RefundEvents(StripeEvents events, CreditDebits debits) {
    this.events = events;
    this.debits = debits;
  }

  @Override
  public Set<String> types() {
    return Set.of("charge.refunded");
  }

  @Override
  public Future<StripeEvents.Outcome> apply(StripeEvent e) {
    JsonObject charge = e.object();
    Long refundedCents = e.amount("amount_refunded");
    if (refundedCents == null || refundedCents <= 0 || !"usd".equalsIgnoreCase(charge.getString("currency"))) {
      return events.flag(e, null, "unexpected_refund");
    }
    long refunded = Math.multiplyExact(refundedCents, BillingSettings.MICROS_PER_CENT);
    String chargeId = e.objectId();
    String key = "stripe:refund:" + chargeId + ":" + refundedCents;
    return events.orgOf(charge).compose(orgId -> orgId == null ? events.flag(e, null, "unknown_org")
        : debitedFor(events.pool(), chargeId).compose(before -> {
          long micros = refunded - before;
          if (micros <= 0) { // an older refund event arriving after a newer one: already debited
            return events.record(e, orgId, "already_debited");
          }
          String reason = "Stripe refund (charge " + chargeId + ", payment intent "
              + charge.getString("payment_intent") + ", event " + e.id() + ")";
          return debits.debitAllowingOverdraft(orgId, micros, key, () -> events.pool().withTransaction(tx ->
              CreditDebits.boundTransaction(tx)
                  .compose(v -> tx.preparedQuery(LOCK_CHARGE).execute(Tuple.of(chargeId)))
                  .compose(v -> debitedFor(tx, chargeId))
                  .compose(now -> now.longValue() != before.longValue()
                      // Another refund event of this charge committed since: Stripe redelivers this one, which
                      // then debits the right difference.
                      ? Future.failedFuture(ApiError.of(409, "refund_in_progress",
                          "Another refund event of this charge was applied meanwhile; retry.", (String) null))
                      : events.writeWithLedger(tx, e, orgId, -micros, key, reason, "debited"))),
              StripeEvents.Outcome::applied);
        }));
  }

  /** What the refund events of this charge have debited so far (positive micro-USD). */
  private static Future<Long> debitedFor(SqlClient client, String chargeId) {
    return client.preparedQuery(REFUNDED).execute(Tuple.of(chargeId)).map(rows -> -rows.iterator().next().getLong(0));
  }
}
