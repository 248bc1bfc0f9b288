package ai.gpt.api.billing.stripe;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.apikeys.ApiUsers.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.FakeStripe;
import ai.gpt.api.testing.FakeStripe.Received;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Stripe top-ups end to end: the gateway calls a fake Stripe API over real HTTP (stripe-java pointed at it with
 * STRIPE_API_BASE), and webhook events signed with Stripe's real scheme are applied to the real ledger and the
 * Redis hot balance.
 */
@ExtendWith(VertxExtension.class)
class StripeBillingTest {
  static final String SECRET = "whsec_test_secret";
  static final String WEBHOOK = "/api/billing/stripe/webhook";

  private FakeStripe stripe;
  private ApiUsers users;
  private Redis redis;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    stripe = FakeStripe.start(vertx);
    users = ApiUsers.start(vertx, Map.of("STRIPE_SECRET_KEY", "sk_test_fake", "STRIPE_WEBHOOK_SECRET", SECRET,
        "STRIPE_PUBLISHABLE_KEY", "pk_test_fake", "STRIPE_API_BASE", stripe.base(),
        "BILLING_TOPUP_MIN_USD", "5", "BILLING_TOPUP_MAX_USD", "500"));
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
  }

  @AfterEach
  void stop() {
    redis.close();
    users.close();
    stripe.close();
  }

  @Test
  @DisplayName("checkout: a customer per organization, a payment-mode session for the amount with the org in"
      + " client_reference_id and metadata; the fake's URL returned; no credit before the webhook")
  void checkout() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    long before = users.gw.ledgerBalance(org);
    HttpResponse<Buffer> resp = users.call("POST", "/api/orgs/" + org + "/billing/checkout", ada.token(),
        new JsonObject().put("usd", "25.50"));
    assertEquals(201, resp.statusCode(), resp.bodyAsString());
    JsonObject body = resp.bodyAsJsonObject();
    Received session = stripe.received("/v1/checkout/sessions").get(0);
    String id = body.getString("id");
    assertTrue(id.startsWith("cs_test_"), id);
    assertEquals("https://checkout.stripe.com/c/pay/" + id, body.getString("url"));
    assertEquals("25.500000", body.getString("amount_usd"));
    assertEquals("Bearer sk_test_fake", session.headers().get("Authorization"));
    assertEquals("payment", session.form().get("mode"));
    assertEquals("2550", session.form().get("line_items[0][price_data][unit_amount]"));
    assertEquals("usd", session.form().get("line_items[0][price_data][currency]"));
    assertEquals("1", session.form().get("line_items[0][quantity]"));
    assertEquals(String.valueOf(org), session.form().get("client_reference_id"));
    assertEquals(String.valueOf(org), session.form().get("metadata[org_id]"));
    assertEquals(String.valueOf(org), session.form().get("payment_intent_data[metadata][org_id]"));
    assertTrue(session.form().get("success_url").startsWith(ApiClient.PUBLIC_URL + "/dashboard/billing?org=" + org + "&checkout=success"),
        session.form().get("success_url"));
    assertTrue(session.form().get("cancel_url").startsWith(ApiClient.PUBLIC_URL + "/"));
    Received customer = stripe.received("/v1/customers").get(0);
    assertEquals(String.valueOf(org), customer.form().get("metadata[org_id]"));
    assertEquals(customer.headers().get("Idempotency-Key"), "gptapi-customer-org-" + org);
    assertEquals("cus_test1", session.form().get("customer"));

    assertEquals(201, users.call("POST", "/api/orgs/" + org + "/billing/checkout", ada.token(),
        new JsonObject().put("usd", "5")).statusCode());
    assertEquals(1, stripe.received("/v1/customers").size(), "one customer per organization, stored");
    assertEquals("cus_test1", stripe.received("/v1/checkout/sessions").get(1).form().get("customer"));
    assertEquals(before, users.gw.ledgerBalance(org), "credit only from the webhook");

    for (String bad : List.of("4.99", "500.01", "10.001", "-5", "ten")) {
      HttpResponse<Buffer> refused = users.call("POST", "/api/orgs/" + org + "/billing/checkout", ada.token(),
          new JsonObject().put("usd", bad));
      assertEquals(400, refused.statusCode(), bad);
      assertEquals("invalid_amount", code(refused), bad);
      assertEquals("usd", param(refused), bad);
    }
    User bob = users.signUp("bob@example.com");
    users.addMember(org, bob, "member");
    assertEquals(403, users.call("POST", "/api/orgs/" + org + "/billing/checkout", bob.token(),
        new JsonObject().put("usd", "10")).statusCode(), "members may not pay for the organization");
    assertEquals(2, stripe.received("/v1/checkout/sessions").size());

    JsonObject config = users.call("GET", "/api/config", null, null).bodyAsJsonObject();
    assertEquals(true, config.getBoolean("billing_enabled"));
    assertEquals("pk_test_fake", config.getString("stripe_publishable_key"));
    assertEquals("5.000000", config.getJsonObject("topup").getString("min_usd"));
  }

  @Test
  @DisplayName("a paid checkout credits once: 10 concurrent deliveries of the event, a redelivery and another"
      + " event for the same session credit it once, and the hot balance follows")
  void paidCheckoutCreditsOnce() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    long before = users.gw.ledgerBalance(org);
    setHotBalance(org, before);
    String event = event("evt_paid", "checkout.session.completed", session("cs_test_a", org, 2500, "paid"));
    List<Future<HttpResponse<Buffer>>> sends = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      sends.add(users.gw.client().post(WEBHOOK).putHeader("Stripe-Signature", sign(event, now()))
          .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(event)));
    }
    Future.all(sends).await();
    int credited = 0;
    for (Future<HttpResponse<Buffer>> f : sends) {
      assertEquals(200, f.result().statusCode(), f.result().bodyAsString());
      credited += "credited".equals(f.result().bodyAsJsonObject().getString("outcome")) ? 1 : 0;
    }
    assertEquals(1, credited);
    assertEquals(before + 25_000_000L, users.gw.ledgerBalance(org));
    assertEquals(String.valueOf(before + 25_000_000L), hotBalance(org), "the credit reached the hot balance");
    assertEquals("duplicate", deliver(event).bodyAsJsonObject().getString("outcome"));
    HttpResponse<Buffer> other = deliver(event("evt_async", "checkout.session.async_payment_succeeded",
        session("cs_test_a", org, 2500, "paid")));
    assertEquals("duplicate_payment", other.bodyAsJsonObject().getString("outcome"));
    assertEquals(before + 25_000_000L, users.gw.ledgerBalance(org));

    Row row = users.gw.pool().preparedQuery("SELECT l.reason, l.kind, e.outcome FROM stripe_events e JOIN"
        + " credit_ledger l ON l.id = e.ledger_entry_id WHERE e.id = 'evt_paid'").execute().await().iterator().next();
    assertEquals("credit", row.getString("kind"));
    assertTrue(row.getString("reason").contains("cs_test_a") && row.getString("reason").contains("pi_cs_test_a")
        && row.getString("reason").contains("evt_paid"), row.getString("reason"));
    JsonArray ledger = users.call("GET", "/api/orgs/" + org + "/credits/ledger", ada.token(), null)
        .bodyAsJsonObject().getJsonArray("data");
    assertEquals(25_000_000L, ledger.getJsonObject(0).getLong("amount_micros"));

    HttpResponse<Buffer> unpaid = deliver(event("evt_unpaid", "checkout.session.completed",
        session("cs_test_b", org, 1000, "unpaid")));
    assertEquals("payment_pending", unpaid.bodyAsJsonObject().getString("outcome"), "async payment: not yet");
    assertEquals(before + 25_000_000L, users.gw.ledgerBalance(org));
  }

  @Test
  @DisplayName("a wrong signature, a missing one and a timestamp older than the 300 s tolerance: 400, nothing"
      + " stored")
  void badSignatures() {
    User ada = users.signUp("ada@example.com");
    String event = event("evt_forged", "checkout.session.completed", session("cs_x", ada.orgId(), 2500, "paid"));
    List<String> headers = List.of(
        FakeStripe.signature("whsec_other", event, now()),
        sign(event, now() - 400),
        sign(event.replace("2500", "250000"), now()),
        "t=" + now() + ",v1=00",
        // headers stripe-java cannot parse (its NumberFormatException was answered "not a Stripe event")
        "t=99999999999999999999999,v1=00",
        "t=" + now() + ".5,v1=00",
        "t=" + now() + " ,v1=00");
    for (String header : headers) {
      HttpResponse<Buffer> resp = users.gw.client().post(WEBHOOK).putHeader("Stripe-Signature", header)
          .sendBuffer(Buffer.buffer(event)).await();
      assertEquals(400, resp.statusCode(), header);
      assertEquals("invalid_signature", code(resp));
    }
    HttpResponse<Buffer> none = users.gw.client().post(WEBHOOK).sendBuffer(Buffer.buffer(event)).await();
    assertEquals(400, none.statusCode());
    assertEquals(0L, count("SELECT count(*) FROM stripe_events"));
    assertEquals(200, deliver(event).statusCode(), "the same body, rightly signed, is accepted");
  }

  @Test
  @DisplayName("an amount whose micro-USD would overflow a long is not an amount: flagged (200), never a 500;"
      + " a signed body that is not a JSON object is 400 invalid_json")
  void absurdAmounts() {
    User ada = users.signUp("ada@example.com");
    long before = users.gw.ledgerBalance(ada.orgId());
    long huge = 1_000_000_000_000_000L; // cents: fits a long, its micro-USD do not
    assertEquals("unexpected_payment", deliver(event("evt_huge_cs", "checkout.session.completed",
        session("cs_huge", ada.orgId(), huge, "paid"))).bodyAsJsonObject().getString("outcome"));
    assertEquals("unexpected_refund", deliver(event("evt_huge_refund", "charge.refunded",
        charge("ch_huge", ada.orgId(), huge))).bodyAsJsonObject().getString("outcome"));
    assertEquals(before, users.gw.ledgerBalance(ada.orgId()));
    assertEquals(2L, count("SELECT count(*) FROM stripe_events WHERE flagged"));

    String notAnObject = "[]";
    HttpResponse<Buffer> resp = users.gw.client().post(WEBHOOK).putHeader("Stripe-Signature", sign(notAnObject, now()))
        .sendBuffer(Buffer.buffer(notAnObject)).await();
    assertEquals(400, resp.statusCode());
    assertEquals("invalid_json", code(resp));
  }

  @Test
  @DisplayName("events larger than the /api limit of 64 KiB are read raw (up to 1 MiB)")
  void largeEvent() {
    User ada = users.signUp("ada@example.com");
    JsonObject session = session("cs_big", ada.orgId(), 1000, "paid");
    session.put("custom_text", "x".repeat(200_000));
    HttpResponse<Buffer> resp = deliver(event("evt_big", "checkout.session.completed", session));
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    assertEquals("credited", resp.bodyAsJsonObject().getString("outcome"));
  }

  @Test
  @DisplayName("an event for an unknown organization is stored with its payload and flagged (200); an async"
      + " payment failure is recorded")
  void unknownOrgAndAsyncFailure() {
    User ada = users.signUp("ada@example.com");
    HttpResponse<Buffer> unknown = deliver(event("evt_lost", "checkout.session.completed",
        session("cs_lost", 987_654, 2500, "paid")));
    assertEquals(200, unknown.statusCode());
    Row row = users.gw.pool().query("SELECT outcome, flagged, payload, org_id FROM stripe_events WHERE id = 'evt_lost'")
        .execute().await().iterator().next();
    assertEquals("unknown_org", row.getString("outcome"));
    assertTrue(row.getBoolean("flagged"));
    assertTrue(row.getString("payload").contains("cs_lost"));
    assertNull(row.getLong("org_id"));

    long before = users.gw.ledgerBalance(ada.orgId());
    HttpResponse<Buffer> failed = deliver(event("evt_fail", "checkout.session.async_payment_failed",
        session("cs_f", ada.orgId(), 2500, "unpaid")));
    assertEquals("payment_failed", failed.bodyAsJsonObject().getString("outcome"));
    Row f = users.gw.pool().query("SELECT outcome, org_id, object_id FROM stripe_events WHERE id = 'evt_fail'")
        .execute().await().iterator().next();
    assertEquals(ada.orgId(), f.getLong("org_id"));
    assertEquals("cs_f", f.getString("object_id"));
    assertEquals(before, users.gw.ledgerBalance(ada.orgId()));
  }

  @Test
  @DisplayName("refunds after spending: each refund state debits once, even below zero, and the API then answers 402")
  void refundAfterSpending(Vertx vertx) {
    FakeLlamaServer llama = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(4)).await();
    try {
      users.gw.addBackend("gpt-fast", llama);
      User ada = users.signUp("ada@example.com");
      long org = ada.orgId();
      // Start from zero: whatever a new organization gets is taken back first.
      long start = users.gw.ledgerBalance(org);
      if (start != 0) {
        users.gw.credit(org, -start);
      }
      deliver(event("evt_pay", "checkout.session.completed", session("cs_r", org, 1000, "paid")));
      assertEquals(10_000_000L, users.gw.ledgerBalance(org));
      users.gw.pool().preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, idempotency_key, "
          + "request_id) VALUES ($1, -9000000, 'debit', 'usage:spent', 'spent')").execute(Tuple.of(org)).await();
      redis.send(Request.cmd(Command.DEL).arg(RedisKeys.balance(org))).await(); // reload with the spending

      assertEquals("debited", deliver(event("evt_ref1", "charge.refunded", charge("ch_1", org, 400))).bodyAsJsonObject()
          .getString("outcome"));
      assertEquals(-3_000_000L, users.gw.ledgerBalance(org), "10 - 9 - 4: below zero");
      HttpResponse<Buffer> full = deliver(event("evt_ref2", "charge.refunded", charge("ch_1", org, 1000)));
      assertEquals("debited", full.bodyAsJsonObject().getString("outcome"));
      assertEquals(-9_000_000L, users.gw.ledgerBalance(org), "the rest of the refund: 6 more");
      // Stripe redelivers, and an older refund event arrives late: nothing more.
      assertEquals("duplicate", deliver(event("evt_ref2", "charge.refunded", charge("ch_1", org, 1000)))
          .bodyAsJsonObject().getString("outcome"));
      assertEquals("already_debited", deliver(event("evt_ref0", "charge.refunded", charge("ch_1", org, 400)))
          .bodyAsJsonObject().getString("outcome"));
      assertEquals(-9_000_000L, users.gw.ledgerBalance(org));
      assertEquals("-9000000", hotBalance(org), "the debits reached the hot balance");

      String key = users.gw.createKey(org, null);
      HttpResponse<Buffer> refused = users.gw.post("/v1/chat/completions", key, new JsonObject()
          .put("model", "gpt-fast").put("max_tokens", 10)
          .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hi"))));
      assertEquals(402, refused.statusCode(), refused.bodyAsString());
      assertEquals("insufficient_quota", code(refused));
    } finally {
      llama.close().await();
    }
  }

  @Test
  @DisplayName("the same refund event delivered 10 times at once debits once; the ones that met it in flight get"
      + " 409 (Stripe redelivers them) and a redelivery is a duplicate")
  void concurrentRefundDebitsOnce() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    deliver(event("evt_pay", "checkout.session.completed", session("cs_c", org, 1000, "paid")));
    long paid = users.gw.ledgerBalance(org);
    String refund = event("evt_refund", "charge.refunded", charge("ch_c", org, 1000));
    List<Future<HttpResponse<Buffer>>> sends = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      sends.add(users.gw.client().post(WEBHOOK).putHeader("Stripe-Signature", sign(refund, now()))
          .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(refund)));
    }
    Future.join(sends).await();
    int debited = 0;
    for (Future<HttpResponse<Buffer>> f : sends) {
      HttpResponse<Buffer> r = f.result();
      assertTrue(r.statusCode() == 200 || r.statusCode() == 409, r.bodyAsString());
      debited += r.statusCode() == 200 && "debited".equals(r.bodyAsJsonObject().getString("outcome")) ? 1 : 0;
    }
    assertEquals(1, debited);
    assertEquals(paid - 10_000_000L, users.gw.ledgerBalance(org));
    assertEquals("duplicate", deliver(refund).bodyAsJsonObject().getString("outcome"));
    assertEquals(paid - 10_000_000L, users.gw.ledgerBalance(org));
  }

  // ---- helpers --------------------------------------------------------------------------------------------

  private HttpResponse<Buffer> deliver(String event) {
    HttpResponse<Buffer> resp = users.gw.client().post(WEBHOOK).putHeader("Stripe-Signature", sign(event, now()))
        .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(event)).await();
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    return resp;
  }

  static String sign(String payload, long t) {
    return FakeStripe.signature(SECRET, payload, t);
  }

  static long now() {
    return Instant.now().getEpochSecond();
  }

  /** An event as Stripe sends it (API version of stripe-java 33.3.0). */
  static String event(String id, String type, JsonObject object) {
    return new JsonObject().put("id", id).put("object", "event").put("api_version", "2026-07-29.dahlia")
        .put("created", now()).put("livemode", false).put("pending_webhooks", 1).put("type", type)
        .put("request", new JsonObject().putNull("id").putNull("idempotency_key"))
        .put("data", new JsonObject().put("object", object)).encode();
  }

  static JsonObject session(String id, long orgId, long cents, String paymentStatus) {
    return new JsonObject().put("id", id).put("object", "checkout.session").put("mode", "payment")
        .put("status", "complete").put("payment_status", paymentStatus).put("currency", "usd")
        .put("amount_subtotal", cents).put("amount_total", cents).put("client_reference_id", String.valueOf(orgId))
        .put("customer", "cus_test1").put("payment_intent", "pi_" + id)
        .put("metadata", new JsonObject().put("org_id", String.valueOf(orgId)));
  }

  static JsonObject charge(String id, long orgId, long refundedCents) {
    return new JsonObject().put("id", id).put("object", "charge").put("amount", 1000).put("currency", "usd")
        .put("amount_refunded", refundedCents).put("refunded", refundedCents == 1000).put("paid", true)
        .put("payment_intent", "pi_" + id).put("customer", "cus_test1")
        .put("metadata", new JsonObject().put("org_id", String.valueOf(orgId)));
  }

  private long count(String sql) {
    return users.gw.pool().query(sql).execute().await().iterator().next().getLong(0);
  }

  private void setHotBalance(long orgId, long micros) {
    redis.send(Request.cmd(Command.SET).arg(RedisKeys.balance(orgId)).arg(micros)).await();
  }

  private String hotBalance(long orgId) {
    var r = redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(orgId))).await();
    return r == null ? null : r.toString();
  }
}
