package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.Money;
import ai.gpt.api.billing.stripe.StripeBooks.Payment;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compares Stripe's books for a period with the ledger rows Stripe events wrote ({@code billing reconcile}):
 * <ul>
 *   <li>every succeeded charge of the period has credits of exactly its amount under its PaymentIntent
 *       (top-ups, auto-recharges), unless it paid an invoice;</li>
 *   <li>every credit of the period has a succeeded charge of that amount (looked up by PaymentIntent at Stripe
 *       when the charge is older than the period);</li>
 *   <li>every charge refunded in the period, or whose refund was debited in it, has refund debits adding up to
 *       what Stripe says was refunded of it;</li>
 *   <li>every paid invoice of the period has its {@code stripe:invoice:<id>} credit (the plan's credit, whose
 *       amount is not what was paid), or its {@code invoice.paid} event was applied and rightly granted nothing
 *       (a proration or $0 invoice, a plan without included credit, an invoice of no subscription); and every
 *       invoice credit of the period a paid invoice.</li>
 * </ul>
 * Lost-dispute debits are not compared: Stripe lists them as disputes, not refunds.
 */
public final class Reconciliation {
  static final String INVOICE_KEY = "stripe:invoice:";

  private static final String CREDITS_OF = "SELECT payment_intent, SUM(amount_micros)::bigint FROM stripe_events"
      + " WHERE ledger_entry_id IS NOT NULL AND amount_micros > 0 AND payment_intent = ANY($1) GROUP BY 1";
  private static final String CREDITS_IN = "SELECT e.id, e.payment_intent, e.amount_micros, l.idempotency_key"
      + " FROM stripe_events e JOIN credit_ledger l ON l.id = e.ledger_entry_id WHERE e.ledger_entry_id IS NOT NULL"
      + " AND e.amount_micros > 0 AND e.received_at >= $1 AND e.received_at < $2 ORDER BY e.received_at";
  private static final String REFUND_DEBITS_OF = "SELECT object_id, SUM(-amount_micros)::bigint FROM stripe_events"
      + " WHERE type = 'charge.refunded' AND ledger_entry_id IS NOT NULL AND object_id = ANY($1) GROUP BY 1";
  private static final String REFUNDS_DEBITED_IN = "SELECT DISTINCT object_id FROM stripe_events"
      + " WHERE type = 'charge.refunded' AND ledger_entry_id IS NOT NULL AND received_at >= $1 AND received_at < $2";
  private static final String INVOICE_CREDITS = "SELECT idempotency_key FROM credit_ledger"
      + " WHERE idempotency_key = ANY($1)";
  /** The outcome of each invoice's {@code invoice.paid} events; flagged ones first, so they are reported. */
  private static final String INVOICE_EVENTS = "SELECT object_id, outcome FROM stripe_events"
      + " WHERE type = 'invoice.paid' AND object_id = ANY($1) ORDER BY flagged";
  /** Outcomes of an applied invoice.paid event that grants no credit by design (see InvoiceEvents). */
  private static final Set<String> NO_CREDIT_DUE = Set.of("not_subscription", "not_a_period_invoice",
      "nothing_paid", "no_included_credit");

  /** What was compared, and every difference found (empty: the books match). */
  public record Report(int payments, int refundedCharges, int paidInvoices, int credits, List<String> differences) {}

  private final Pool pool;
  private final StripeApi stripe;

  public Reconciliation(Pool pool, StripeApi stripe) {
    this.pool = pool;
    this.stripe = stripe;
  }

  /** Compares the period {@code [from, to)}. */
  public Future<Report> run(Instant from, Instant to) {
    Tuple period = Tuple.of(OffsetDateTime.ofInstant(from, ZoneOffset.UTC), OffsetDateTime.ofInstant(to, ZoneOffset.UTC));
    return stripe.call("list the payments, refunds and invoices", c -> StripeBooks.read(c, from, to))
        .compose(books -> pool.preparedQuery(CREDITS_IN).execute(period).compose(creditRows -> {
          List<String> differences = new ArrayList<>();
          List<Row> credits = new ArrayList<>();
          creditRows.forEach(credits::add);
          return payments(books, differences)
              .compose(v -> credits(books, credits, differences))
              .compose(v -> refunds(books, period, differences))
              .compose(v -> invoices(books, credits, differences))
              .map(v -> new Report(books.payments().size(), books.refundedCharges().size(),
                  books.paidInvoices().size(), credits.size(), differences));
        }));
  }

  /** Each charge of the period (not an invoice's) against the credits under its PaymentIntent. */
  private Future<Void> payments(StripeBooks books, List<String> differences) {
    List<Payment> topUps = books.payments().stream()
        .filter(p -> !books.invoicePaymentIntents().contains(p.paymentIntent())).toList();
    String[] intents = topUps.stream().map(Payment::paymentIntent).filter(pi -> pi != null).toArray(String[]::new);
    return sums(CREDITS_OF, intents).map(credited -> {
      for (Payment p : topUps) {
        Long got = p.paymentIntent() == null ? null : credited.get(p.paymentIntent());
        if (got == null) {
          differences.add("payment with no credit: charge " + p.chargeId() + " (payment intent " + p.paymentIntent()
              + ", " + Money.formatUsd(p.micros()) + ", " + p.created() + ")");
        } else if (got != p.micros()) {
          differences.add("amount differs: charge " + p.chargeId() + " (payment intent " + p.paymentIntent()
              + ") paid " + Money.formatUsd(p.micros()) + " but credited " + Money.formatUsd(got));
        }
      }
      return null;
    });
  }

  /** Each credit of the period whose PaymentIntent has no charge in the period: looked up at Stripe. */
  private Future<Void> credits(StripeBooks books, List<Row> credits, List<String> differences) {
    Set<String> paid = new LinkedHashSet<>();
    books.payments().forEach(p -> paid.add(p.paymentIntent()));
    Map<String, Long> unmatched = new HashMap<>();
    for (Row r : credits) {
      String pi = r.getString("payment_intent");
      if (r.getString("idempotency_key").startsWith(INVOICE_KEY) || (pi != null && paid.contains(pi))) {
        continue;
      }
      if (pi == null) {
        differences.add("credit with no payment: event " + r.getString("id") + " credited "
            + Money.formatUsd(r.getLong("amount_micros")) + " without a payment intent");
      } else {
        unmatched.merge(pi, r.getLong("amount_micros"), Long::sum);
      }
    }
    if (unmatched.isEmpty()) {
      return Future.succeededFuture();
    }
    return stripe.call("look up the payments of credits", c -> {
      for (Map.Entry<String, Long> credit : unmatched.entrySet()) {
        long charged = StripeBooks.chargesOf(c, credit.getKey()).stream().mapToLong(Payment::micros).sum();
        if (charged == 0) {
          differences.add("credit with no payment: payment intent " + credit.getKey() + " credited "
              + Money.formatUsd(credit.getValue()) + " but Stripe has no succeeded charge for it");
        } else if (charged != credit.getValue()) {
          differences.add("amount differs: payment intent " + credit.getKey() + " paid " + Money.formatUsd(charged)
              + " (before the period) but credited " + Money.formatUsd(credit.getValue()) + " in it");
        }
      }
      return null;
    });
  }

  /** Each charge refunded, or refund-debited, in the period: Stripe's refunded amount against the debits. */
  private Future<Void> refunds(StripeBooks books, Tuple period, List<String> differences) {
    return pool.preparedQuery(REFUNDS_DEBITED_IN).execute(period).compose(rows -> {
      Set<String> charges = new LinkedHashSet<>(books.refundedCharges());
      rows.forEach(r -> charges.add(r.getString(0)));
      return sums(REFUND_DEBITS_OF, charges.toArray(String[]::new)).compose(debited -> stripe.call(
          "look up the refunded charges", c -> {
            for (String charge : charges) {
              long refunded = StripeBooks.refundedMicros(c, charge);
              long got = debited.getOrDefault(charge, 0L);
              if (got == 0 && refunded > 0) {
                differences.add("refund not debited: charge " + charge + " refunded " + Money.formatUsd(refunded));
              } else if (got != refunded) {
                differences.add("refund debited differently: charge " + charge + " refunded "
                    + Money.formatUsd(refunded) + " but debited " + Money.formatUsd(got));
              }
            }
            return null;
          }));
    });
  }

  /** Paid invoices against their plan credits, both ways. */
  private Future<Void> invoices(StripeBooks books, List<Row> credits, List<String> differences) {
    String[] keys = books.paidInvoices().stream().map(id -> INVOICE_KEY + id).toArray(String[]::new);
    String[] ids = books.paidInvoices().toArray(String[]::new);
    Map<String, String> outcomes = new HashMap<>();
    return pool.preparedQuery(INVOICE_EVENTS).execute(Tuple.of((Object) ids))
        .compose(events -> {
          events.forEach(r -> outcomes.putIfAbsent(r.getString(0), r.getString(1)));
          return pool.preparedQuery(INVOICE_CREDITS).execute(Tuple.of((Object) keys));
        }).compose(rows -> {
      Set<String> credited = new LinkedHashSet<>();
      rows.forEach(r -> credited.add(r.getString(0)));
      for (String id : books.paidInvoices()) {
        String outcome = outcomes.get(id);
        if (!credited.contains(INVOICE_KEY + id) && (outcome == null || !NO_CREDIT_DUE.contains(outcome))) {
          differences.add("paid invoice with no credit: invoice " + id + " has no " + INVOICE_KEY + id
              + " ledger row (" + (outcome == null ? "no invoice.paid event received" : "event outcome " + outcome)
              + ")");
        }
      }
      List<String> unmatched = credits.stream().map(r -> r.getString("idempotency_key"))
          .filter(k -> k.startsWith(INVOICE_KEY) && !books.paidInvoices().contains(k.substring(INVOICE_KEY.length())))
          .toList();
      return unmatched.isEmpty() ? Future.succeededFuture() : stripe.call("look up the invoices of credits", c -> {
        for (String key : unmatched) {
          if (!StripeBooks.invoicePaid(c, key.substring(INVOICE_KEY.length()))) {
            differences.add("credit with no payment: " + key + " but Stripe has no such paid invoice");
          }
        }
        return null;
      });
    });
  }

  /** {@code id → sum} from a query grouping over {@code = ANY($1)}. */
  private Future<Map<String, Long>> sums(String sql, String[] ids) {
    return pool.preparedQuery(sql).execute(Tuple.of((Object) ids)).map(rows -> {
      Map<String, Long> sums = new HashMap<>();
      rows.forEach(r -> sums.put(r.getString(0), r.getLong(1)));
      return sums;
    });
  }
}
