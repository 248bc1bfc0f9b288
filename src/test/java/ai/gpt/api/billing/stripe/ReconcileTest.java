package ai.gpt.api.billing.stripe;

import static ai.gpt.api.billing.stripe.StripeBillingTest.event;
import static ai.gpt.api.billing.stripe.StripeBillingTest.now;
import static ai.gpt.api.billing.stripe.StripeBillingTest.session;
import static ai.gpt.api.billing.stripe.StripeBillingTest.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.testing.FakeStripe;
import ai.gpt.api.testing.InProcessCli;
import ai.gpt.api.testing.InProcessCli.Result;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code billing reconcile}: the ledger is written by signed webhook events through a running gateway, Stripe's
 * books are the fake's lists (more than one page of charges, so auto-pagination is exercised).
 */
@ExtendWith(VertxExtension.class)
class ReconcileTest {
  private static final int BULK = 105;

  private FakeStripe stripe;
  private ApiUsers users;
  private long org;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    stripe = FakeStripe.start(vertx);
    Map<String, String> env = new HashMap<>(DisputesTest.STRIPE_ENV);
    env.put("STRIPE_API_BASE", stripe.base());
    users = ApiUsers.start(vertx, env);
    org = users.signUp("ada@example.com").orgId();
  }

  @AfterEach
  void stop() {
    users.close();
    stripe.close();
  }

  @Test
  @DisplayName("books that match (top-ups over several pages, a partial refund, an invoice paid for plan credit, a"
      + " proration invoice that grants nothing): exit 0, no differences")
  void matchingBooks() {
    matchingHistory();
    Result r = reconcile();
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains((BULK + 4) + " payments, 1 refunded charges, 2 paid invoices"), r.out());
    assertTrue(r.out().contains("No differences."), r.out());
    assertTrue(stripe.received("/v1/charges").size() >= 2, "more than one page of charges was read");
    assertEquals("data.payments", stripe.received("/v1/invoices").get(0).form().get("expand[0]"));
    assertEquals("paid", stripe.received("/v1/invoices").get(0).form().get("status"));
  }

  @Test
  @DisplayName("each kind of difference is printed and the exit status is 1: payment with no credit, credit with"
      + " no payment, amounts that differ, refund not debited, refund debited differently, paid invoice with no"
      + " credit")
  void everyKindOfDifference() {
    matchingHistory();
    long t = now();
    stripe.add(DisputesTest.charge("ch_x", "cus_test1", "pi_x", 500, t));
    deliver(event("evt_ghost", "checkout.session.completed", session("cs_ghost", org, 700, "paid")));
    stripe.add(DisputesTest.charge("ch_d", "cus_test1", "pi_cs_d", 1000, t));
    deliver(event("evt_d", "checkout.session.completed", session("cs_d", org, 1500, "paid")));
    stripe.add(DisputesTest.charge("ch_n", "cus_test1", "pi_cs_n", 900, t).put("amount_refunded", 100));
    deliver(event("evt_n", "checkout.session.completed", session("cs_n", org, 900, "paid")));
    stripe.add(refund("re_n", "ch_n", 100, t));
    deliver(event("evt_r_more", "charge.refunded", refundedCharge("ch_r", "pi_cs_r", 1000, 600)));
    stripe.add(invoice("in_2", "pi_in_2", 2000, t));
    stripe.add(DisputesTest.charge("ch_in_2", "cus_test1", "pi_in_2", 2000, t));

    Result r = reconcile();
    assertEquals(1, r.code(), r.out());
    assertTrue(r.out().contains("payment with no credit: charge ch_x (payment intent pi_x, $5.00"), r.out());
    assertTrue(r.out().contains("credit with no payment: payment intent pi_cs_ghost credited $7.00"), r.out());
    assertTrue(r.out().contains("amount differs: charge ch_d (payment intent pi_cs_d) paid $10.00 but credited"
        + " $15.00"), r.out());
    assertTrue(r.out().contains("refund not debited: charge ch_n refunded $1.00"), r.out());
    assertTrue(r.out().contains("refund debited differently: charge ch_r refunded $4.00 but debited $6.00"), r.out());
    assertTrue(r.out().contains("paid invoice with no credit: invoice in_2"), r.out());
    assertEquals(6, r.out().lines().filter(l -> l.contains(": ")).count() - 1, r.out());
    assertTrue(r.err().contains("6 difference(s)"), r.err());

    Result bad = cli("billing", "reconcile", "--from", "2026-13-01", "--to", "2026-12-31");
    assertEquals(1, bad.code());
    assertTrue(bad.err().contains("--from must be a date as YYYY-MM-DD"), bad.err());
  }

  /**
   * Top-ups (one page and more), a refund of 4 of a 10 top-up, an invoice whose plan credit is recorded and one
   * whose event granted nothing by design.
   */
  private void matchingHistory() {
    long t = now();
    users.gw.pool().preparedQuery("WITH l AS (INSERT INTO credit_ledger (org_id, amount_micros, kind, reason,"
        + " idempotency_key) SELECT $1, 1000000, 'credit', 'bulk', 'stripe:cs_bulk_' || g FROM generate_series(1, "
        + BULK + ") g RETURNING id, idempotency_key) INSERT INTO stripe_events (id, type, org_id, object_id, outcome,"
        + " amount_micros, ledger_entry_id, payment_intent) SELECT 'evt_bulk_' || substr(idempotency_key, 16),"
        + " 'checkout.session.completed', $1, substr(idempotency_key, 8), 'credited', 1000000, id,"
        + " 'pi_bulk_' || substr(idempotency_key, 16) FROM l").execute(Tuple.of(org)).await();
    for (int i = 1; i <= BULK; i++) {
      stripe.add(DisputesTest.charge("ch_bulk_" + i, "cus_test1", "pi_bulk_" + i, 100, t - i));
    }
    stripe.add(DisputesTest.charge("ch_a", "cus_test1", "pi_cs_a", 2500, t));
    deliver(event("evt_a", "checkout.session.completed", session("cs_a", org, 2500, "paid")));
    stripe.add(DisputesTest.charge("ch_r", "cus_test1", "pi_cs_r", 1000, t).put("amount_refunded", 400));
    deliver(event("evt_r", "checkout.session.completed", session("cs_r", org, 1000, "paid")));
    stripe.add(refund("re_r", "ch_r", 400, t));
    deliver(event("evt_r_refund", "charge.refunded", refundedCharge("ch_r", "pi_cs_r", 1000, 400)));
    // A subscription invoice paid 20 and granted the plan's 30 of credit (written by the plans feature).
    stripe.add(invoice("in_1", "pi_in_1", 2000, t));
    stripe.add(DisputesTest.charge("ch_in_1", "cus_test1", "pi_in_1", 2000, t));
    users.gw.pool().preparedQuery("WITH l AS (INSERT INTO credit_ledger (org_id, amount_micros, kind, reason,"
        + " idempotency_key) VALUES ($1, 30000000, 'credit', 'plan', 'stripe:invoice:in_1') RETURNING id)"
        + " INSERT INTO stripe_events (id, type, org_id, object_id, outcome, amount_micros, ledger_entry_id)"
        + " SELECT 'evt_in_1', 'invoice.paid', $1, 'in_1', 'credited', 30000000, id FROM l")
        .execute(Tuple.of(org)).await();
    // A proration invoice (a plan change) paid 5 and rightly granted nothing: its event says so.
    stripe.add(invoice("in_p", "pi_in_p", 500, t));
    stripe.add(DisputesTest.charge("ch_in_p", "cus_test1", "pi_in_p", 500, t));
    users.gw.pool().preparedQuery("INSERT INTO stripe_events (id, type, org_id, object_id, outcome)"
        + " VALUES ('evt_in_p', 'invoice.paid', $1, 'in_p', 'not_a_period_invoice')").execute(Tuple.of(org)).await();
  }

  static JsonObject refund(String id, String charge, long cents, long created) {
    return new JsonObject().put("id", id).put("object", "refund").put("amount", cents).put("charge", charge)
        .put("currency", "usd").put("status", "succeeded").put("created", created).put("reason", "requested_by_customer")
        .put("metadata", new JsonObject());
  }

  /** A charge as a charge.refunded event carries it: our org in the PaymentIntent's metadata. */
  private JsonObject refundedCharge(String id, String paymentIntent, long cents, long refundedCents) {
    return DisputesTest.charge(id, "cus_test1", paymentIntent, cents, now()).put("amount_refunded", refundedCents)
        .put("refunded", refundedCents == cents).put("metadata", new JsonObject().put("org_id", String.valueOf(org)));
  }

  /** A paid subscription invoice with its payment (as listed with expand[]=data.payments). */
  static JsonObject invoice(String id, String paymentIntent, long cents, long created) {
    JsonObject payment = new JsonObject().put("id", "inpay_" + id).put("object", "invoice_payment")
        .put("invoice", id).put("amount_paid", cents).put("amount_requested", cents).put("currency", "usd")
        .put("status", "paid").put("is_default", true).put("livemode", false).put("created", created)
        .put("payment", new JsonObject().put("type", "payment_intent").put("payment_intent", paymentIntent));
    return new JsonObject().put("id", id).put("object", "invoice").put("status", "paid").put("currency", "usd")
        .put("amount_due", cents).put("amount_paid", cents).put("amount_remaining", 0).put("customer", "cus_test1")
        .put("created", created).put("livemode", false).put("billing_reason", "subscription_cycle")
        .put("payments", new JsonObject().put("object", "list").put("data", new JsonArray().add(payment))
            .put("has_more", false).put("url", "/v1/invoice_payments?invoice=" + id));
  }

  private void deliver(String event) {
    HttpResponse<Buffer> resp = users.gw.client().post(StripeBillingTest.WEBHOOK)
        .putHeader("Stripe-Signature", sign(event, now())).sendBuffer(Buffer.buffer(event)).await();
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
  }

  private Result cli(String... args) {
    Map<String, String> env = new HashMap<>(DisputesTest.STRIPE_ENV);
    env.put("STRIPE_API_BASE", stripe.base());
    return InProcessCli.run(env, args);
  }

  private Result reconcile() {
    String today = LocalDate.now(ZoneOffset.UTC).toString();
    return cli("billing", "reconcile", "--from", today, "--to", today);
  }

  /** Without the in-process gateway's log lines (System.out is shared). */
}
