package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.LedgerSql;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code stripe_events} table: one row per event id, written in the same transaction as the effect of the
 * event, so an event is applied with its effect or not at all, and a redelivery (or a concurrent delivery) finds
 * its row (or waits on its primary key, then finds it) and changes nothing.
 */
public final class StripeEvents {
  private static final Logger LOG = LoggerFactory.getLogger(StripeEvents.class);

  /** What an event did; {@code applied}: this call wrote the ledger row. */
  public record Outcome(String outcome, boolean applied) {}

  public static final Outcome DUPLICATE = new Outcome("duplicate", false);

  private static final String SEEN = "SELECT 1 FROM stripe_events WHERE id = $1";
  private static final String RECORD = "INSERT INTO stripe_events (id, type, org_id, object_id, outcome,"
      + " amount_micros, flagged, payload, payment_intent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
      + " ON CONFLICT (id) DO NOTHING RETURNING id";
  private static final String LINK = "UPDATE stripe_events SET ledger_entry_id = $2, outcome = $3 WHERE id = $1";
  private static final String ORG_OF_CUSTOMER = "SELECT org_id FROM stripe_customers WHERE customer_id = $1";

  private final Pool pool;

  public StripeEvents(Pool pool) {
    this.pool = pool;
  }

  public Pool pool() {
    return pool;
  }

  public Future<Boolean> seen(String eventId) {
    return seen(pool, eventId);
  }

  /** Inside a transaction that serializes the events of one object: whether this event was applied already. */
  public Future<Boolean> seen(SqlClient client, String eventId) {
    return client.preparedQuery(SEEN).execute(Tuple.of(eventId)).map(rows -> rows.size() > 0);
  }

  /**
   * Inside {@code tx}: the event's row, then its ledger row ({@code micros} &gt; 0 a credit, &lt; 0 an adjustment)
   * under the idempotency key {@code key}. A second event about the same payment (same key) is recorded as
   * {@code duplicate_payment} and moves nothing; an event id already recorded answers {@link #DUPLICATE}.
   */
  public Future<Outcome> writeWithLedger(SqlConnection tx, StripeEvent e, long orgId, long micros, String key,
      String reason, String outcome) {
    return tx.preparedQuery(RECORD).execute(Tuple.of(e.id(), e.type(), orgId, e.objectId(), outcome, micros, false,
            null, paymentIntentOf(e)))
        .compose(recorded -> recorded.size() == 0 ? Future.succeededFuture(DUPLICATE)
            : tx.preparedQuery(LedgerSql.INSERT).execute(Tuple.of(orgId, micros, micros > 0 ? "credit" : "adjustment",
                    reason, key))
                .compose(inserted -> inserted.size() == 0
                    ? tx.preparedQuery(LINK).execute(Tuple.of(e.id(), null, "duplicate_payment"))
                        .map(new Outcome("duplicate_payment", false))
                    : tx.preparedQuery(LINK).execute(Tuple.of(e.id(), inserted.iterator().next().getLong("id"),
                        outcome)).map(new Outcome(outcome, true))));
  }

  /** Inside {@code client} (a transaction, or the pool): the row of an event that moves no money. */
  public Future<Outcome> record(SqlClient client, StripeEvent e, Long orgId, String outcome) {
    return write(client, e, orgId, outcome, null);
  }

  /** The row of an event that moves no money, on its own. */
  public Future<Outcome> record(StripeEvent e, Long orgId, String outcome) {
    return write(pool, e, orgId, outcome, null);
  }

  /** An event that should have an effect but cannot: kept with its payload for an operator, never lost. */
  public Future<Outcome> flag(StripeEvent e, Long orgId, String outcome) {
    LOG.warn("Stripe event {} ({}) flagged as {}: organization {}", e.id(), e.type(), outcome, orgId);
    return write(pool, e, orgId, outcome, e.whole().encode());
  }

  private Future<Outcome> write(SqlClient client, StripeEvent e, Long orgId, String outcome, String payload) {
    return knownOrg(orgId).compose(known -> client.preparedQuery(RECORD).execute(Tuple.of(e.id(), e.type(),
            known ? orgId : null, e.objectId(), outcome, null, payload != null, payload, paymentIntentOf(e))))
        .map(rows -> rows.size() == 0 ? DUPLICATE : new Outcome(outcome, false));
  }

  /** Stripe ids are short ASCII tokens; anything else in an untrusted payload is not stored as one. */
  private static String paymentIntentOf(StripeEvent e) {
    String pi = e.paymentIntent();
    return pi != null && pi.length() <= 255 ? pi : null;
  }

  public Future<Boolean> knownOrg(Long orgId) {
    return orgId == null ? Future.succeededFuture(false)
        : pool.preparedQuery(LedgerSql.ORG_EXISTS).execute(Tuple.of(orgId)).map(rows -> rows.size() > 0);
  }

  /** The organization of a Stripe customer we created, or null. */
  public Future<Long> orgOfCustomer(String customerId) {
    return customerId == null ? Future.succeededFuture(null)
        : pool.preparedQuery(ORG_OF_CUSTOMER).execute(Tuple.of(customerId))
            .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getLong(0));
  }

  /** The organization an object names in its metadata if it exists, else that of its {@code customer}. */
  public Future<Long> orgOf(io.vertx.core.json.JsonObject object) {
    Long fromMetadata = StripeEvent.orgOf(object);
    String customer = object.getValue("customer") instanceof String c ? c : null;
    if (fromMetadata != null || customer == null) {
      return knownOrg(fromMetadata).map(known -> known ? fromMetadata : null);
    }
    return orgOfCustomer(customer);
  }
}
