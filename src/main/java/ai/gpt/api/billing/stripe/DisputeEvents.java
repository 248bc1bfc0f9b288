package ai.gpt.api.billing.stripe;

import ai.gpt.api.auth.KeyInvalidations;
import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.config.BillingSettings;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Disputes (chargebacks). {@code charge.dispute.created} suspends the organization's API access (a row of
 * {@code stripe_disputes} without {@code closed_at}, read by the key lookup); {@code charge.dispute.closed} lifts it
 * whatever the result, and a lost dispute also debits the disputed amount, even below zero (the bank has taken the
 * money back), once per dispute (ledger key {@code stripe:dispute:<dispute>}).
 *
 * <p>Nothing is debited when a dispute opens, although Stripe withdraws the funds then: the suspension already
 * stops all spending, and a won dispute (funds reinstated) would otherwise need a credit back. A dispute and a
 * refund never cover the same money: Stripe refuses to refund a disputed charge, and a dispute covers at most what
 * was not refunded before, so this debit and {@link RefundEvents}' debits of one charge add up to at most its amount.
 *
 * <p>The events of one dispute are serialized (an advisory lock), the row is created by whichever event comes
 * first, and a closed row is never reopened, so a "closed" that overtakes its "created" leaves the organization
 * unsuspended. After a change every replica drops its cached keys ({@link KeyInvalidations#publishAll}) so the
 * suspension takes effect at once; if that message is lost, cached keys expire within {@code KeyStore.TTL}.
 */
final class DisputeEvents implements StripeEventHandler {
  private static final Logger LOG = LoggerFactory.getLogger(DisputeEvents.class);
  static final String CREATED = "charge.dispute.created";
  static final String CLOSED = "charge.dispute.closed";
  private static final int MAX_ID = 255;

  private static final String LOCK = "SELECT pg_advisory_xact_lock(hashtext('stripe-dispute:' || $1))";
  private static final String FIND = "SELECT closed_at IS NOT NULL AS closed FROM stripe_disputes WHERE id = $1";
  private static final String OPEN = "INSERT INTO stripe_disputes (id, org_id, charge_id, payment_intent,"
      + " amount_micros, reason, status) VALUES ($1, $2, $3, $4, $5, $6, $7)";
  private static final String CLOSE = "INSERT INTO stripe_disputes (id, org_id, charge_id, payment_intent,"
      + " amount_micros, reason, status, closed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now())"
      + " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, amount_micros = EXCLUDED.amount_micros,"
      + " closed_at = COALESCE(stripe_disputes.closed_at, now())";
  /** Kept when a second "lost" event of the dispute wrote no ledger row. */
  private static final String LINK_DEBIT = "UPDATE stripe_disputes SET ledger_entry_id ="
      + " COALESCE((SELECT ledger_entry_id FROM stripe_events WHERE id = $2), ledger_entry_id) WHERE id = $1";

  private final StripeEvents events;
  private final CreditDebits debits;
  private final DisputedOrgs orgs;
  private final Redis redis;

  DisputeEvents(StripeEvents events, CreditDebits debits, DisputedOrgs orgs, Redis redis) {
    this.events = events;
    this.debits = debits;
    this.orgs = orgs;
    this.redis = redis;
  }

  @Override
  public Set<String> types() {
    return Set.of(CREATED, CLOSED);
  }

  /** The fields of a dispute we keep, checked: Stripe's payload is untrusted JSON. */
  private record Dispute(String id, String charge, String paymentIntent, long micros, String reason,
      String status) {
    Tuple row(long orgId) {
      return Tuple.of(id, orgId, charge, paymentIntent, micros, reason, status);
    }
  }

  @Override
  public Future<StripeEvents.Outcome> apply(StripeEvent e) {
    Dispute d = parse(e);
    if (d == null) {
      return events.flag(e, StripeEvent.orgOf(e.object()), "unexpected_dispute");
    }
    return orgs.orgOf(d.id(), e.object(), d.charge(), d.paymentIntent()).compose(orgId -> {
      if (orgId == null) {
        return events.flag(e, null, "unknown_org");
      }
      Future<StripeEvents.Outcome> applied = CREATED.equals(e.type()) ? open(e, d, orgId)
          : "lost".equals(d.status()) && d.micros() > 0 ? closeLost(e, d, orgId) : close(e, d, orgId);
      return applied.onSuccess(outcome -> {
        if (outcome != StripeEvents.DUPLICATE) {
          KeyInvalidations.publishAll(redis).onFailure(err -> LOG.warn("Dispute {} of organization {}: could not"
              + " tell the replicas ({}); their cached keys expire within a minute", d.id(), orgId, err.toString()));
        }
      });
    });
  }

  private static Dispute parse(StripeEvent e) {
    JsonObject o = e.object();
    String id = e.objectId();
    Long cents = e.amount("amount");
    String status = o.getValue("status") instanceof String s && s.length() <= MAX_ID ? s : null;
    if (id == null || id.length() > MAX_ID || cents == null || cents < 0 || status == null
        || !"usd".equalsIgnoreCase(o.getValue("currency") instanceof String c ? c : null)) {
      return null;
    }
    // "charge" is an id, or the charge itself when the sender expanded it.
    Object charge = o.getValue("charge");
    String chargeId = charge instanceof String s ? s
        : charge instanceof JsonObject c && c.getValue("id") instanceof String s ? s : null;
    String reason = o.getValue("reason") instanceof String r && r.length() <= MAX_ID ? r : null;
    return new Dispute(id, shortId(chargeId), shortId(e.paymentIntent()),
        Math.multiplyExact(cents, BillingSettings.MICROS_PER_CENT), reason, status);
  }

  private static String shortId(String id) {
    return id != null && id.length() <= MAX_ID ? id : null;
  }

  /** Suspends, unless the dispute is already known (open, or closed by an event that overtook this one). */
  private Future<StripeEvents.Outcome> open(StripeEvent e, Dispute d, long orgId) {
    return events.pool().withTransaction(tx -> lock(tx, d).compose(closed -> {
      String outcome = closed == null ? "suspended" : closed ? "already_closed" : "already_open";
      return events.record(tx, e, orgId, outcome).compose(o -> o == StripeEvents.DUPLICATE || closed != null
          ? Future.succeededFuture(o) : tx.preparedQuery(OPEN).execute(d.row(orgId)).map(o));
    }));
  }

  /** Lifts the suspension (won, withdrawn inquiry, or lost for nothing). */
  private Future<StripeEvents.Outcome> close(StripeEvent e, Dispute d, long orgId) {
    return events.pool().withTransaction(tx -> lock(tx, d).compose(closed -> events.record(tx, e, orgId,
            Boolean.TRUE.equals(closed) ? "already_closed" : "dispute_" + d.status())
        .compose(o -> o == StripeEvents.DUPLICATE ? Future.succeededFuture(o)
            : tx.preparedQuery(CLOSE).execute(d.row(orgId)).map(o))));
  }

  /**
   * A lost dispute: closes it and debits its amount in one transaction, even below zero, as a refund is debited.
   * A second "closed" event of the dispute finds the ledger key taken and moves nothing.
   */
  private Future<StripeEvents.Outcome> closeLost(StripeEvent e, Dispute d, long orgId) {
    String key = "stripe:dispute:" + d.id();
    String reason = "Stripe dispute lost (dispute " + d.id() + ", charge " + d.charge() + ", payment intent "
        + d.paymentIntent() + ", event " + e.id() + ")";
    return debits.debitAllowingOverdraft(orgId, d.micros(), key, () -> events.pool().withTransaction(tx ->
            CreditDebits.boundTransaction(tx)
                .compose(v -> lock(tx, d))
                .compose(closed -> events.writeWithLedger(tx, e, orgId, -d.micros(), key, reason, "dispute_lost"))
                .compose(o -> o == StripeEvents.DUPLICATE ? Future.succeededFuture(o)
                    : tx.preparedQuery(CLOSE).execute(d.row(orgId))
                        .compose(v -> tx.preparedQuery(LINK_DEBIT).execute(Tuple.of(d.id(), e.id())))
                        .map(o))),
        StripeEvents.Outcome::applied);
  }

  /** Takes the dispute's lock for the transaction; then whether its row is closed (null: no row yet). */
  private static Future<Boolean> lock(SqlConnection tx, Dispute d) {
    return tx.preparedQuery(LOCK).execute(Tuple.of(d.id()))
        .compose(v -> tx.preparedQuery(FIND).execute(Tuple.of(d.id())))
        .map(rows -> {
          if (rows.size() == 0) {
            return null;
          }
          return rows.iterator().next().getBoolean("closed");
        });
  }
}
