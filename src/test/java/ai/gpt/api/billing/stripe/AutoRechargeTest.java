package ai.gpt.api.billing.stripe;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.apikeys.ApiUsers.param;
import static ai.gpt.api.billing.stripe.StripeBillingTest.event;
import static ai.gpt.api.billing.stripe.StripeBillingTest.session;
import static ai.gpt.api.billing.stripe.StripeBillingTest.sign;
import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.billing.recharge.AutoRecharge;
import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.FakeStripe;
import ai.gpt.api.testing.FakeStripe.Received;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Auto-recharge and low-balance e-mails end to end: real requests through the gateway (a fake llama.cpp backend)
 * settle against the Redis hot balance, the gateway charges the card saved by a top-up at a fake Stripe over real
 * HTTP, signed webhook events credit the real ledger, and the owners' e-mails arrive at a real SMTP server.
 */
@ExtendWith(VertxExtension.class)
class AutoRechargeTest {
  private static final String PI_PATH = "/v1/payment_intents";
  private static final long USD = 1_000_000L;

  private FakeStripe stripe;
  private FakeLlamaServer llama;
  private ApiUsers users;
  private Redis redis;
  private WebClient burst;

  /** A gateway with billing on, the given settings on top, and a backend for gpt-fast. */
  private void start(Vertx vertx, Map<String, String> extra) throws Exception {
    stripe = FakeStripe.start(vertx);
    llama = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(16)).await();
    Map<String, String> env = new HashMap<>(Map.of("STRIPE_SECRET_KEY", "sk_test_fake", "STRIPE_WEBHOOK_SECRET",
        StripeBillingTest.SECRET, "STRIPE_API_BASE", stripe.base(), "BILLING_TOPUP_MIN_USD", "5",
        "BILLING_TOPUP_MAX_USD", "500", "QUEUE_SIZE", "1000"));
    env.putAll(extra);
    users = ApiUsers.start(vertx, env);
    users.gw.addBackend("gpt-fast", llama);
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    burst = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(users.gw.port()).setKeepAlive(true), new PoolOptions().setHttp1MaxSize(50));
  }

  @AfterEach
  void stop() {
    users.close();
    if (burst != null) {
      burst.close();
      redis.close();
      llama.close().await();
      stripe.close();
    }
  }

  @Test
  @DisplayName("a top-up saves its card; 50 concurrent settlements crossing the threshold make exactly one"
      + " off-session PaymentIntent; its payment_intent.succeeded credits once, a redelivery and another event"
      + " for it nothing")
  void firesOnceAndCreditsOnce(Vertx vertx) throws Exception {
    start(vertx, Map.of());
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    String card = saveCard(ada);
    enable(ada, "5", "20");
    // Two keys: a key may have 32 requests in flight.
    String key = users.gw.createKey(org, null);
    String other = users.gw.createKey(org, null);
    setBalance(org, 5 * USD + 5);

    chats(25, key, other);
    awaitTrue("the charge was made", () -> stripe.paymentIntents().size() == 1 && charged(org));
    chats(key, 10); // still below, with the charge pending
    Thread.sleep(300);
    assertEquals(1, stripe.received(PI_PATH).size(), "exactly one PaymentIntent");
    Received charge = stripe.received(PI_PATH).get(0);
    Row attempt = attempt(org);
    assertEquals("pending", attempt.getString("status"));
    assertEquals("2000", charge.form().get("amount"));
    assertEquals("usd", charge.form().get("currency"));
    assertEquals(customerOf(org), charge.form().get("customer"));
    assertEquals(card, charge.form().get("payment_method"));
    assertEquals("true", charge.form().get("off_session"));
    assertEquals("true", charge.form().get("confirm"));
    assertEquals(String.valueOf(org), charge.form().get("metadata[org_id]"));
    assertEquals(String.valueOf(attempt.getLong("id")), charge.form().get("metadata[auto_recharge_attempt]"));
    assertEquals("gptapi-auto-recharge-" + attempt.getLong("id"), charge.headers().get("Idempotency-Key"));

    awaitLedgerSettled(org);
    long before = users.gw.ledgerBalance(org);
    JsonObject pi = stripe.paymentIntents().get(0);
    String succeeded = event("evt_pi_ok", "payment_intent.succeeded", pi);
    assertEquals("credited", deliver(succeeded).getString("outcome"));
    assertEquals(before + 20 * USD, users.gw.ledgerBalance(org));
    assertEquals("duplicate", deliver(succeeded).getString("outcome"));
    assertEquals("duplicate_payment", deliver(event("evt_pi_again", "payment_intent.succeeded", pi))
        .getString("outcome"));
    assertEquals(before + 20 * USD, users.gw.ledgerBalance(org));
    assertEquals("succeeded", attempt(org).getString("status"));
    Row ledger = users.gw.pool().preparedQuery("SELECT idempotency_key, reason FROM credit_ledger WHERE org_id = $1"
        + " AND kind = 'credit' ORDER BY id DESC LIMIT 1").execute(Tuple.of(org)).await().iterator().next();
    assertEquals("stripe:pi:" + pi.getString("id"), ledger.getString("idempotency_key"));
    assertTrue(hotBalance(org) > 20 * USD, "the credit reached the hot balance");

    chats(key, 5); // above the threshold now: no charge
    Thread.sleep(300);
    assertEquals(1, stripe.received(PI_PATH).size());
  }

  @Test
  @DisplayName("a declined charge (Stripe's 402 card error) fails the attempt, turns auto-recharge off and e-mails"
      + " the owner once (not the admins; its payment_failed event adds none); later settlements below the"
      + " threshold charge nothing")
  void declineTurnsOff(Vertx vertx) throws Exception {
    start(vertx, Map.of());
    User ada = users.signUp("ada@example.com");
    User bob = users.signUp("bob@example.com");
    User carol = users.signUp("carol@example.com");
    long org = ada.orgId();
    users.addMember(org, bob, "admin");
    users.addMember(org, carol, "member");
    saveCard(ada);
    enable(ada, "5", "20");
    stripe.chargeOutcome("insufficient_funds");
    String key = users.gw.createKey(org, null);
    setBalance(org, 5 * USD + 5);
    long bobMails = users.mail().mailCountTo("bob@example.com");
    long carolMails = users.mail().mailCountTo("carol@example.com");

    chats(key, 3);
    String mail = users.mail().mailTo("ada@example.com", "Auto-recharge failed");
    assertTrue(mail.contains("insufficient_funds") && mail.contains("$20.00"), mail);
    assertTrue(mail.contains(ApiClient.PUBLIC_URL + "/dashboard/billing?org=" + org), mail);
    Row attempt = attempt(org);
    assertEquals("failed", attempt.getString("status"));
    assertEquals(stripe.paymentIntents().get(0).getString("id"), attempt.getString("payment_intent_id"));
    JsonObject last = section(org, 3).getJsonObject("last_attempt");
    assertEquals("failed", last.getString("status"));
    assertTrue(last.getString("failure_reason").startsWith("card_declined (insufficient_funds)"), last.encode());
    JsonObject settings = users.call("GET", "/api/orgs/" + org + "/billing/auto-recharge", ada.token(), null)
        .bodyAsJsonObject();
    assertFalse(settings.getBoolean("enabled"));
    assertTrue(settings.getString("disabled_reason").contains("card_declined (insufficient_funds)"),
        settings.encode());

    long adaMails = users.mail().mailCountTo("ada@example.com");
    JsonObject failed = stripe.paymentIntents().get(0);
    assertEquals("recharge_failed", deliver(event("evt_pi_fail", "payment_intent.payment_failed", failed))
        .getString("outcome"));
    chats(key, 5);
    Thread.sleep(300);
    assertEquals(1, stripe.received(PI_PATH).size(), "auto-recharge is off: no further charge");
    assertEquals(adaMails, users.mail().mailCountTo("ada@example.com"), "one e-mail per failed charge");
    assertEquals(bobMails, users.mail().mailCountTo("bob@example.com"), "owners only, not admins");
    assertEquals(carolMails, users.mail().mailCountTo("carol@example.com"));
  }

  @Test
  @DisplayName("a charge needing authentication (requires_action) fails like a decline; a payment_failed event of a"
      + " pending charge fails it too")
  void authenticationAndFailedEvent(Vertx vertx) throws Exception {
    start(vertx, Map.of());
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    saveCard(ada);
    enable(ada, "5", "20");
    stripe.chargeOutcome("requires_action");
    String key = users.gw.createKey(org, null);
    setBalance(org, 5 * USD + 5);
    chats(key, 2);
    assertTrue(users.mail().mailTo("ada@example.com", "Auto-recharge failed").contains("authentication_required"));
    assertEquals("failed", attempt(org).getString("status"));

    stripe.chargeOutcome("succeeded");
    enable(ada, "5", "20");
    chats(key, 2);
    awaitTrue("the second charge", () -> stripe.paymentIntents().size() == 2 && charged(org));
    JsonObject pi = stripe.paymentIntents().get(1).copy().put("status", "requires_payment_method")
        .put("last_payment_error", new JsonObject().put("type", "card_error").put("code", "card_declined")
            .put("decline_code", "lost_card").put("message", "Your card was declined."));
    assertEquals("recharge_failed", deliver(event("evt_pi_f2", "payment_intent.payment_failed", pi))
        .getString("outcome"));
    assertEquals("failed", attempt(org).getString("status"));
    awaitTrue("the failure e-mail", () -> users.mail().mailTo("ada@example.com", "Auto-recharge failed")
        .contains("lost_card"));
    assertFalse(users.call("GET", "/api/orgs/" + org + "/billing/auto-recharge", ada.token(), null)
        .bodyAsJsonObject().getBoolean("enabled"));
  }

  @Test
  @DisplayName("the daily cap: with BILLING_AUTO_RECHARGE_MAX_PER_DAY=2 a third charge within 24 h is not made"
      + " though the balance stays below the threshold")
  void dailyCap(Vertx vertx) throws Exception {
    start(vertx, Map.of("BILLING_AUTO_RECHARGE_MAX_PER_DAY", "2"));
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    saveCard(ada);
    enable(ada, "50", "5");
    String key = users.gw.createKey(org, null);
    setBalance(org, 10 * USD);
    for (int n = 1; n <= 2; n++) {
      chats(key, 3);
      int made = n;
      awaitTrue("charge " + n, () -> stripe.paymentIntents().size() == made && charged(org));
      assertEquals("credited", deliver(event("evt_cap_" + n, "payment_intent.succeeded",
          stripe.paymentIntents().get(n - 1))).getString("outcome"));
    }
    chats(key, 5); // $20 of $50: still below, but the cap is reached
    Thread.sleep(500);
    assertEquals(2, stripe.received(PI_PATH).size());
    assertEquals(2L, users.gw.pool().preparedQuery("SELECT count(*) FROM auto_recharge_attempts WHERE org_id = $1"
        + " AND status = 'succeeded'").execute(Tuple.of(org)).await().iterator().next().getLong(0));
    assertTrue(users.call("GET", "/api/orgs/" + org + "/billing/auto-recharge", ada.token(), null)
        .bodyAsJsonObject().getBoolean("enabled"), "the cap pauses, it does not turn off");
    JsonObject section = section(org, 2);
    assertEquals(new JsonObject().put("max_per_day", 2).put("used_last_24h", 2), section.getJsonObject("cap"));
    assertEquals("succeeded", section.getJsonObject("last_attempt").getString("status"));
    assertEquals("5.000000", section.getJsonObject("last_attempt").getString("amount_usd"));
    assertEquals(stripe.paymentIntents().get(1).getString("id"), section.getJsonObject("last_attempt")
        .getString("payment_intent"));
    assertTrue(section.getBoolean("enabled"));
  }

  @Test
  @DisplayName("a charge Stripe never answered does not block the organization: after an hour pending it expires"
      + " and the next settlement below the threshold charges again")
  void pendingChargeExpires(Vertx vertx) throws Exception {
    start(vertx, Map.of());
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    saveCard(ada);
    enable(ada, "5", "20");
    String key = users.gw.createKey(org, null);
    setBalance(org, 5 * USD + 5);
    chats(key, 2);
    awaitTrue("the first charge", () -> stripe.paymentIntents().size() == 1 && charged(org));
    long first = attempt(org).getLong("id");
    users.gw.pool().preparedQuery("UPDATE auto_recharge_attempts SET created_at = now() - interval '61 minutes'"
        + " WHERE id = $1").execute(Tuple.of(first)).await();
    enable(ada, "5", "20"); // saving the settings drops this replica's cached state at once (else within 30 s)
    chats(key, 2);
    awaitTrue("the second charge", () -> stripe.paymentIntents().size() == 2 && charged(org));
    Row expired = users.gw.pool().preparedQuery("SELECT status, failure_reason FROM auto_recharge_attempts"
        + " WHERE id = $1").execute(Tuple.of(first)).await().iterator().next();
    assertEquals("expired", expired.getString("status"));
    assertTrue(expired.getString("failure_reason").contains("1 hour"));
    // Its success event arriving late still credits it: the money was taken.
    awaitLedgerSettled(org);
    long before = users.gw.ledgerBalance(org);
    assertEquals("credited", deliver(event("evt_late", "payment_intent.succeeded", stripe.paymentIntents().get(0)))
        .getString("outcome"));
    assertEquals(before + 20 * USD, users.gw.ledgerBalance(org));
  }

  @Test
  @DisplayName("low balance: one e-mail per crossing of each threshold, none while it stays below, again after the"
      + " balance was seen back above and crossed again")
  void lowBalanceOncePerCrossing(Vertx vertx) throws Exception {
    start(vertx, Map.of("BILLING_LOW_BALANCE_USD", "5,1"));
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    String key = users.gw.createKey(org, null);
    String subject = "Your GPT API balance is below $5.00";
    setBalance(org, 5 * USD + 5);
    long start = users.mail().mailCountTo("ada@example.com");

    chats(key, 10);
    String mail = users.mail().mailTo("ada@example.com", subject);
    assertTrue(mail.contains(ApiClient.PUBLIC_URL + "/dashboard/billing?org=" + org), mail);
    chats(key, 10);
    Thread.sleep(300);
    assertEquals(start + 1, users.mail().mailCountTo("ada@example.com"), "once while it stays below");
    Thread.sleep(2000); // an e-mail is re-armed only once it is 2 s old (out-of-order settlements)

    setBalance(org, 6 * USD);
    chats(key, 1); // seen above: re-armed
    awaitTrue("re-armed", () -> alerts(org) == 0);
    setBalance(org, 5 * USD + 5);
    chats(key, 5);
    awaitTrue("the second crossing e-mailed", () -> users.mail().mailCountTo("ada@example.com") == start + 2);

    setBalance(org, USD + 5);
    chats(key, 5);
    assertTrue(users.mail().mailTo("ada@example.com", "Your GPT API balance is below $1.00").contains("$1.00"));
    Thread.sleep(300);
    assertEquals(start + 3, users.mail().mailCountTo("ada@example.com"));
    assertEquals(2, alerts(org));
  }

  @Test
  @DisplayName("a delayed Checkout payment that failed (checkout.session.async_payment_failed) e-mails the owners"
      + " once")
  void asyncPaymentFailureMailsOwners(Vertx vertx) throws Exception {
    start(vertx, Map.of());
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    String failed = event("evt_async_fail", "checkout.session.async_payment_failed",
        session("cs_async", org, 2500, "unpaid"));
    assertEquals("payment_failed", deliver(failed).getString("outcome"));
    String mail = users.mail().mailTo("ada@example.com", "Your GPT API payment failed");
    assertTrue(mail.contains("$25.00") && mail.contains("cs_async"), mail);
    assertTrue(mail.contains(ApiClient.PUBLIC_URL + "/dashboard/billing?org=" + org), mail);
    long count = users.mail().mailCountTo("ada@example.com");
    assertEquals("duplicate", deliver(failed).getString("outcome"));
    Thread.sleep(300);
    assertEquals(count, users.mail().mailCountTo("ada@example.com"));
  }

  @Test
  @DisplayName("settings API: any member reads, admins write; strict money within the top-up range in whole cents,"
      + " threshold >= 0; enabling without a saved card is 409 no_payment_method; billing off is 503 after the"
      + " membership check")
  void settingsValidation(Vertx vertx) throws Exception {
    start(vertx, Map.of());
    User ada = users.signUp("ada@example.com");
    User bob = users.signUp("bob@example.com");
    User eve = users.signUp("eve@example.com");
    long org = ada.orgId();
    users.addMember(org, bob, "member");
    String path = "/api/orgs/" + org + "/billing/auto-recharge";

    HttpResponse<Buffer> fresh = users.call("GET", path, bob.token(), null);
    assertEquals(200, fresh.statusCode(), fresh.bodyAsString());
    assertFalse(fresh.bodyAsJsonObject().getBoolean("enabled"));
    assertNull(fresh.bodyAsJsonObject().getValue("threshold_usd"));
    assertNull(fresh.bodyAsJsonObject().getValue("payment_method"));
    assertEquals(3, fresh.bodyAsJsonObject().getInteger("max_per_day"));
    assertEquals(404, users.call("GET", path, eve.token(), null).statusCode());
    assertEquals(401, users.call("GET", path, null, null).statusCode());
    JsonObject ok = settings(false, "2.50", "20");
    assertEquals(403, users.call("PUT", path, bob.token(), ok).statusCode());
    assertEquals(404, users.call("PUT", path, eve.token(), ok).statusCode());
    assertEquals(404, users.call("PUT", "/api/orgs/987654/billing/auto-recharge", ada.token(), ok).statusCode());

    record Bad(JsonObject body, String code, String param) {}
    List<Bad> bad = List.of(
        new Bad(settings(true, "abc", "20"), "invalid_amount", "threshold_usd"),
        new Bad(settings(true, "-1", "20"), "invalid_amount", "threshold_usd"),
        new Bad(settings(true, "1e3", "20"), "invalid_amount", "threshold_usd"),
        new Bad(settings(true, "5", "4.99"), "invalid_amount", "amount_usd"),
        new Bad(settings(true, "5", "500.01"), "invalid_amount", "amount_usd"),
        new Bad(settings(true, "5", "10.001"), "invalid_amount", "amount_usd"),
        new Bad(settings(true, "5", "20").put("amount_usd", 20), "invalid_amount", "amount_usd"),
        new Bad(settings(true, "5", "20").put("enabled", "yes"), "invalid_request_error", "enabled"),
        new Bad(new JsonObject().put("threshold_usd", "5").put("amount_usd", "20"), "invalid_request_error",
            "enabled"),
        new Bad(settings(true, "5", "20").put("extra", 1), "invalid_request_error", "extra"));
    for (Bad b : bad) {
      HttpResponse<Buffer> resp = users.call("PUT", path, ada.token(), b.body());
      assertEquals(400, resp.statusCode(), b.body().encode() + " " + resp.bodyAsString());
      assertEquals(b.param(), param(resp), b.body().encode());
      if (b.code().equals("invalid_amount")) {
        assertEquals("invalid_amount", code(resp), b.body().encode());
      }
    }
    HttpResponse<Buffer> duplicated = users.gw.client().put(path).bearerTokenAuthentication(ada.token())
        .putHeader("content-type", "application/json")
        .sendBuffer(Buffer.buffer("{\"enabled\":false,\"enabled\":true,\"threshold_usd\":\"1\",\"amount_usd\":\"9\"}"))
        .await();
    assertEquals(400, duplicated.statusCode(), "strict JSON: a duplicated key");

    HttpResponse<Buffer> noCard = users.call("PUT", path, ada.token(), settings(true, "5", "20"));
    assertEquals(409, noCard.statusCode(), noCard.bodyAsString());
    assertEquals("no_payment_method", code(noCard));
    HttpResponse<Buffer> saved = users.call("PUT", path, ada.token(), ok);
    assertEquals(200, saved.statusCode(), saved.bodyAsString());
    assertEquals("2.500000", saved.bodyAsJsonObject().getString("threshold_usd"));
    assertEquals(20 * USD, saved.bodyAsJsonObject().getLong("amount_micros"));
    assertFalse(saved.bodyAsJsonObject().getBoolean("enabled"));
    String card = saveCard(ada);
    HttpResponse<Buffer> on = users.call("PUT", path, ada.token(), settings(true, "0", "5"));
    assertEquals(200, on.statusCode(), on.bodyAsString());
    assertTrue(on.bodyAsJsonObject().getBoolean("enabled"));
    assertEquals(card, on.bodyAsJsonObject().getJsonObject("payment_method").getString("id"));
    assertEquals(on.bodyAsJsonObject(), users.call("GET", path, bob.token(), null).bodyAsJsonObject());
  }

  @Test
  @DisplayName("billing off: the auto-recharge routes answer 503 billing_disabled to members, 404 to others")
  void billingOff(Vertx vertx) throws Exception {
    users = ApiUsers.start(vertx);
    JsonObject ok = settings(false, "2.50", "20");
    User off = users.signUp("off@example.com");
    User other = users.signUp("other@example.com");
    String offPath = "/api/orgs/" + off.orgId() + "/billing/auto-recharge";
    HttpResponse<Buffer> disabled = users.call("GET", offPath, off.token(), null);
    assertEquals(503, disabled.statusCode());
    assertEquals("billing_disabled", code(disabled));
    assertEquals(503, users.call("PUT", offPath, off.token(), ok).statusCode());
    assertEquals(404, users.call("GET", offPath, other.token(), null).statusCode(), "membership first");
  }

  // ---- helpers --------------------------------------------------------------------------------------------

  /**
   * A top-up through Checkout (which sets the card up for off-session use) and its PaymentIntent's succeeded
   * event, which saves the card; its id.
   */
  private String saveCard(User owner) {
    long org = owner.orgId();
    HttpResponse<Buffer> checkout = users.call("POST", "/api/orgs/" + org + "/billing/checkout", owner.token(),
        new JsonObject().put("usd", "10"));
    assertEquals(201, checkout.statusCode(), checkout.bodyAsString());
    List<Received> sessions = stripe.received("/v1/checkout/sessions");
    assertEquals("off_session", sessions.get(sessions.size() - 1).form()
        .get("payment_intent_data[setup_future_usage]"));
    String card = "pm_card_" + org;
    JsonObject pi = new JsonObject().put("id", "pi_topup_" + org).put("object", "payment_intent")
        .put("amount", 1000).put("amount_received", 1000).put("currency", "usd").put("customer", customerOf(org))
        .put("payment_method", card).put("setup_future_usage", "off_session").put("status", "succeeded")
        .put("metadata", new JsonObject().put("org_id", String.valueOf(org)));
    assertEquals("card_saved", deliver(event("evt_topup_pi_" + org, "payment_intent.succeeded", pi))
        .getString("outcome"));
    return card;
  }

  private void enable(User admin, String threshold, String amount) {
    HttpResponse<Buffer> resp = users.call("PUT", "/api/orgs/" + admin.orgId() + "/billing/auto-recharge",
        admin.token(), settings(true, threshold, amount));
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
  }

  private static JsonObject settings(boolean enabled, String threshold, String amount) {
    return new JsonObject().put("enabled", enabled).put("threshold_usd", threshold).put("amount_usd", amount);
  }

  /** {@code n} concurrent chat completions, all answered 200. */
  private void chats(String key, int n) {
    chats(n, key);
  }

  /** {@code n} concurrent chat completions with each key, all answered 200. */
  private void chats(int n, String... keys) {
    JsonObject body = new JsonObject().put("model", "gpt-fast").put("max_tokens", 4)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hello!")));
    List<Future<HttpResponse<Buffer>>> sent = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      for (String key : keys) {
        sent.add(burst.post("/v1/chat/completions").bearerTokenAuthentication(key).sendJsonObject(body));
      }
    }
    Future.join(sent).await();
    for (Future<HttpResponse<Buffer>> f : sent) {
      assertEquals(200, f.result().statusCode(), f.result().bodyAsString());
    }
  }

  /**
   * Makes the organization's available balance {@code micros}: the difference goes into the ledger and the hot
   * balance is dropped, so it reloads as ledger net of queued usage.
   */
  private void setBalance(long org, long micros) {
    long hot = hotBalance(org);
    users.gw.credit(org, micros - (hot == Long.MIN_VALUE ? users.gw.ledgerBalance(org) : hot));
    redis.send(Request.cmd(Command.DEL).arg(RedisKeys.balance(org))).await();
  }

  /** The hot balance, or Long.MIN_VALUE when it is not loaded. */
  private long hotBalance(long org) {
    var r = redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(org))).await();
    return r == null ? Long.MIN_VALUE : r.toLong();
  }

  /** Waits until every usage debit of the organization is in the ledger. */
  private void awaitLedgerSettled(long org) {
    awaitTrue("usage written", () -> users.gw.ledgerBalance(org) == hotBalance(org));
  }

  private JsonObject deliver(String event) {
    HttpResponse<Buffer> resp = users.gw.client().post(StripeBillingTest.WEBHOOK)
        .putHeader("Stripe-Signature", sign(event, StripeBillingTest.now()))
        .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(event)).await();
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    return resp.bodyAsJsonObject();
  }

  private String customerOf(long org) {
    return users.gw.pool().preparedQuery("SELECT customer_id FROM stripe_customers WHERE org_id = $1")
        .execute(Tuple.of(org)).await().iterator().next().getString(0);
  }

  /** The organization's newest auto-recharge attempt. */
  private Row attempt(long org) {
    var rows = users.gw.pool().preparedQuery("SELECT * FROM auto_recharge_attempts WHERE org_id = $1"
        + " ORDER BY id DESC LIMIT 1").execute(Tuple.of(org)).await();
    return rows.size() == 0 ? null : rows.iterator().next();
  }

  /** The billing state's auto_recharge section, from an {@link AutoRecharge} on the test's database. */
  private JsonObject section(long org, int maxPerDay) {
    BillingSettings settings = new BillingSettings("sk_test_fake", StripeBillingTest.SECRET, null, stripe.base(),
        5 * USD, 500 * USD, List.of(), maxPerDay, List.of());
    AutoRecharge recharge = new AutoRecharge(users.gw.pool(), null, new StripeEvents(users.gw.pool()), null,
        settings, null, new BillingLinks(ApiClient.PUBLIC_URL));
    assertEquals("auto_recharge", recharge.section().name());
    return (JsonObject) recharge.section().describe(org).await();
  }

  /** The newest attempt is pending with its PaymentIntent recorded. */
  private boolean charged(long org) {
    Row a = attempt(org);
    return a != null && "pending".equals(a.getString("status")) && a.getString("payment_intent_id") != null;
  }

  private long alerts(long org) {
    return users.gw.pool().preparedQuery("SELECT count(*) FROM low_balance_alerts WHERE org_id = $1")
        .execute(Tuple.of(org)).await().iterator().next().getLong(0);
  }
}
