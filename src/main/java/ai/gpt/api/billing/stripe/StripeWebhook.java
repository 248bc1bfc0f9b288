package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.billing.LedgerSql;
import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.json.StrictJson;
import com.stripe.exception.SignatureVerificationException;
import com.stripe.net.Webhook;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stripe's webhook events: verified, then applied exactly once. The event's row in {@code stripe_events} is
 * written in the same transaction as the ledger row it causes, so a redelivery, or the same event delivered
 * several times at once, finds the row (or waits on its primary key and then finds it) and changes nothing. The
 * ledger's idempotency key is per payment ({@code stripe:<checkout session>}) or per refund state
 * ({@code stripe:refund:<charge>:<amount refunded>}), so two different events about one payment apply it once.
 * Credits and debits reach the Redis hot balance through {@link CreditDebits}, like every other ledger write.
 */
public final class StripeWebhook {
  private static final Logger LOG = LoggerFactory.getLogger(StripeWebhook.class);

  /** What an event did; {@code applied}: this call wrote the ledger row. */
  public record Outcome(String outcome, boolean applied) {}

  private static final String SEEN = "SELECT 1 FROM stripe_events WHERE id = $1";
  private static final String RECORD = "INSERT INTO stripe_events (id, type, org_id, object_id, outcome,"
      + " amount_micros, flagged, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING"
      + " RETURNING id";
  private static final String LINK = "UPDATE stripe_events SET ledger_entry_id = $2, outcome = $3 WHERE id = $1";
  private static final String ORG_OF_CUSTOMER = "SELECT org_id FROM stripe_customers WHERE customer_id = $1";
  private static final String REFUNDED = "SELECT COALESCE(SUM(amount_micros), 0)::bigint FROM stripe_events"
      + " WHERE object_id = $1 AND outcome = 'debited'";
  /** Serializes the refund events of one charge, so each debits only what the ones before it did not. */
  private static final String LOCK_CHARGE = "SELECT pg_advisory_xact_lock(hashtext('stripe-charge:' || $1))";

  private final Vertx vertx;
  private final Pool pool;
  private final CreditDebits debits;
  private final String secret;

  public StripeWebhook(Vertx vertx, Pool pool, CreditDebits debits, BillingSettings settings) {
    this.vertx = vertx;
    this.pool = pool;
    this.debits = debits;
    this.secret = settings.webhookSecret();
  }

  /**
   * Verifies {@code signature} (the Stripe-Signature header) on the raw body with stripe-java's
   * {@link Webhook#constructEvent} (HMAC-SHA256, default tolerance 300 s) on a worker thread, then applies it.
   *
   * @throws ApiError 400 invalid_signature for a missing, wrong or stale signature
   */
  public Future<Outcome> receive(Buffer body, String signature) {
    if (signature == null || signature.isBlank()) {
      return Future.failedFuture(invalidSignature("The Stripe-Signature header is missing."));
    }
    return vertx.executeBlocking(() -> {
      try {
        Webhook.constructEvent(body.toString(), signature, secret);
      } catch (SignatureVerificationException e) {
        throw invalidSignature("The Stripe-Signature header does not verify: " + e.getMessage());
      } catch (RuntimeException e) { // signed, yet not an event (a JSON syntax error)
        throw ApiError.invalidRequest("The body is not a Stripe event.", null);
      }
      return StrictJson.object(body);
    }, false).compose(this::apply);
  }

  private Future<Outcome> apply(JsonObject event) {
    String id = event.getString("id");
    String type = event.getString("type");
    JsonObject data = event.getJsonObject("data");
    JsonObject object = data == null ? null : data.getJsonObject("object");
    if (id == null || type == null || object == null) {
      return Future.failedFuture(ApiError.invalidRequest("The event has no id, type or data.object.", null));
    }
    return pool.preparedQuery(SEEN).execute(Tuple.of(id)).compose(seen -> {
      if (seen.size() > 0) {
        return Future.succeededFuture(new Outcome("duplicate", false));
      }
      Event e = new Event(id, type, object, event);
      return switch (type) {
        case "checkout.session.completed" -> "paid".equals(object.getString("payment_status"))
            ? credit(e) : record(e, orgOf(object), "payment_pending", null);
        case "checkout.session.async_payment_succeeded" -> credit(e);
        case "checkout.session.async_payment_failed" -> record(e, orgOf(object), "payment_failed", null);
        case "charge.refunded" -> refund(e);
        default -> record(e, null, "ignored", null);
      };
    });
  }

  private record Event(String id, String type, JsonObject object, JsonObject whole) {
    String objectId() {
      return object.getString("id");
    }
  }

  /** A paid Checkout Session: credits what was paid to the organization in its metadata, once per session. */
  private Future<Outcome> credit(Event e) {
    JsonObject session = e.object();
    Long orgId = orgOf(session);
    Long cents = session.getValue("amount_total") instanceof Number n ? n.longValue() : null;
    if (!"payment".equals(session.getString("mode")) || cents == null || cents <= 0
        || !"usd".equalsIgnoreCase(session.getString("currency"))) {
      return flag(e, orgId, "unexpected_payment");
    }
    long micros = Math.multiplyExact(cents, BillingSettings.MICROS_PER_CENT);
    String key = "stripe:" + e.objectId();
    String reason = "Stripe top-up (checkout session " + e.objectId() + ", payment intent "
        + session.getString("payment_intent") + ", event " + e.id() + ")";
    return knownOrg(orgId).compose(known -> !known ? flag(e, orgId, "unknown_org")
        : debits.credit(orgId, micros, () -> pool.withTransaction(tx -> CreditDebits.boundTransaction(tx)
            .compose(v -> write(tx, e, orgId, micros, key, reason, "credited"))), Outcome::applied));
  }

  /**
   * A charge refunded (wholly or partly): debits what was refunded since the last refund event of the charge,
   * even beyond the available credit (the money is gone), so the balance may go negative and the API answers 402.
   */
  private Future<Outcome> refund(Event e) {
    JsonObject charge = e.object();
    Long refundedCents = charge.getValue("amount_refunded") instanceof Number n ? n.longValue() : null;
    if (refundedCents == null || refundedCents <= 0 || !"usd".equalsIgnoreCase(charge.getString("currency"))) {
      return flag(e, null, "unexpected_refund");
    }
    long refunded = Math.multiplyExact(refundedCents, BillingSettings.MICROS_PER_CENT);
    String chargeId = e.objectId();
    String key = "stripe:refund:" + chargeId + ":" + refundedCents;
    return refundOrg(charge).compose(orgId -> orgId == null ? flag(e, null, "unknown_org")
        : debitedFor(pool, chargeId).compose(before -> {
          long micros = refunded - before;
          if (micros <= 0) { // an older refund event arriving after a newer one: already debited
            return record(e, orgId, "already_debited", null);
          }
          String reason = "Stripe refund (charge " + chargeId + ", payment intent "
              + charge.getString("payment_intent") + ", event " + e.id() + ")";
          return debits.debitAllowingOverdraft(orgId, micros, key, () -> pool.withTransaction(tx ->
              CreditDebits.boundTransaction(tx)
                  .compose(v -> tx.preparedQuery(LOCK_CHARGE).execute(Tuple.of(chargeId)))
                  .compose(v -> debitedFor(tx, chargeId))
                  .compose(now -> now.longValue() != before.longValue()
                      // Another refund event of this charge committed since: Stripe redelivers this one, which
                      // then debits the right difference.
                      ? Future.failedFuture(ApiError.of(409, "refund_in_progress",
                          "Another refund event of this charge was applied meanwhile; retry.", (String) null))
                      : write(tx, e, orgId, -micros, key, reason, "debited"))), Outcome::applied);
        }));
  }

  /** What the refund events of this charge have debited so far (positive micro-USD). */
  private static Future<Long> debitedFor(SqlClient client, String chargeId) {
    return client.preparedQuery(REFUNDED).execute(Tuple.of(chargeId)).map(rows -> -rows.iterator().next().getLong(0));
  }

  /** The event's row, then its ledger row; a second event about the same payment records but credits nothing. */
  private Future<Outcome> write(SqlConnection tx, Event e, long orgId, long micros, String key, String reason,
      String outcome) {
    return tx.preparedQuery(RECORD).execute(Tuple.of(e.id(), e.type(), orgId, e.objectId(), outcome, micros, false,
            null))
        .compose(recorded -> recorded.size() == 0 ? Future.succeededFuture(new Outcome("duplicate", false))
            : tx.preparedQuery(LedgerSql.INSERT).execute(Tuple.of(orgId, micros, micros > 0 ? "credit" : "adjustment",
                    reason, key))
                .compose(inserted -> inserted.size() == 0
                    ? tx.preparedQuery(LINK).execute(Tuple.of(e.id(), null, "duplicate_payment"))
                        .map(new Outcome("duplicate_payment", false))
                    : tx.preparedQuery(LINK).execute(Tuple.of(e.id(), inserted.iterator().next().getLong("id"),
                        outcome)).map(new Outcome(outcome, true))));
  }

  /** An event that moves no money. */
  private Future<Outcome> record(Event e, Long orgId, String outcome, String payload) {
    return knownOrg(orgId).compose(known -> pool.preparedQuery(RECORD).execute(Tuple.of(e.id(), e.type(),
            known ? orgId : null, e.objectId(), outcome, null, payload != null, payload)))
        .map(rows -> new Outcome(rows.size() == 0 ? "duplicate" : outcome, false));
  }

  /** An event that should move money but cannot: kept with its payload for an operator, never lost. */
  private Future<Outcome> flag(Event e, Long orgId, String outcome) {
    LOG.warn("Stripe event {} ({}) flagged as {}: organization {}", e.id(), e.type(), outcome, orgId);
    return record(e, orgId, outcome, e.whole().encode());
  }

  private Future<Boolean> knownOrg(Long orgId) {
    return orgId == null ? Future.succeededFuture(false)
        : pool.preparedQuery(LedgerSql.ORG_EXISTS).execute(Tuple.of(orgId)).map(rows -> rows.size() > 0);
  }

  /** The organization of a charge: its PaymentIntent's metadata, else its customer's organization. */
  private Future<Long> refundOrg(JsonObject charge) {
    Long fromMetadata = orgOf(charge);
    String customer = charge.getString("customer");
    if (fromMetadata != null || customer == null) {
      return knownOrg(fromMetadata).map(known -> known ? fromMetadata : null);
    }
    return pool.preparedQuery(ORG_OF_CUSTOMER).execute(Tuple.of(customer))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getLong(0));
  }

  /** {@code metadata.org_id}, else {@code client_reference_id}: digits only, else null. */
  private static Long orgOf(JsonObject object) {
    Object ref = object.getValue("client_reference_id");
    String text = object.getValue("metadata") instanceof JsonObject metadata
        && metadata.getValue("org_id") instanceof String s ? s : ref instanceof String r ? r : null;
    if (text == null || text.isEmpty() || text.length() > 18 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return null;
    }
    return Long.parseLong(text);
  }

  private static ApiError invalidSignature(String message) {
    return ApiError.of(400, "invalid_signature", message, "Stripe-Signature");
  }
}
