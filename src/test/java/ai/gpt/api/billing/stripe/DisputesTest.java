package ai.gpt.api.billing.stripe;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.billing.stripe.StripeBillingTest.event;
import static ai.gpt.api.billing.stripe.StripeBillingTest.now;
import static ai.gpt.api.billing.stripe.StripeBillingTest.session;
import static ai.gpt.api.billing.stripe.StripeBillingTest.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.Gateway;
import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.config.Env;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.FakeStripe;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.GatewayProcess;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Disputes end to end: signed charge.dispute.* events suspend the organization's /v1 access on every replica (the
 * key cache is dropped through Redis), a closed dispute lifts it, and a lost one debits its amount once.
 */
@ExtendWith(VertxExtension.class)
class DisputesTest {
  static final Map<String, String> STRIPE_ENV = Map.of("STRIPE_SECRET_KEY", "sk_test_fake",
      "STRIPE_WEBHOOK_SECRET", StripeBillingTest.SECRET, "STRIPE_PUBLISHABLE_KEY", "pk_test_fake");

  private FakeStripe stripe;
  private ApiUsers users;
  private Redis redis;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    stripe = FakeStripe.start(vertx);
    Map<String, String> env = new HashMap<>(STRIPE_ENV);
    env.put("STRIPE_API_BASE", stripe.base());
    users = ApiUsers.start(vertx, env);
    redis = Redis.createClient(vertx, ai.gpt.api.testing.TestServices.REDIS_URL);
  }

  @AfterEach
  void stop() {
    redis.close();
    users.close();
    stripe.close();
  }

  @Test
  @DisplayName("a dispute suspends /v1 with 402 account_suspended on both replicas (10 concurrent deliveries apply"
      + " once); the billing state and the admin view show it; a won dispute restores access and debits nothing")
  void disputeSuspendsUntilWon(Vertx vertx) throws Exception {
    FakeLlamaServer llama = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(4)).await();
    Gateway second = null;
    try {
      users.gw.addBackend("gpt-fast", llama);
      User ada = users.signUp("ada@example.com");
      long org = ada.orgId();
      deliver(event("evt_pay", "checkout.session.completed", session("cs_d", org, 2000, "paid")));
      String key = users.gw.createKey(org, null);
      second = secondReplica(vertx);
      WebClient secondClient = WebClient.create(vertx);
      int secondPort = second.port();
      assertEquals(200, chat(key).statusCode(), "the key is now cached on the first replica");
      assertEquals(200, models(secondClient, secondPort, key).statusCode(), "and on the second");

      // Stripe puts no metadata on disputes: the organization is found through the top-up's PaymentIntent.
      String created = event("evt_dp_open", "charge.dispute.created", dispute("dp_1", "pi_cs_d", 2000,
          "needs_response"));
      List<Future<HttpResponse<Buffer>>> sends = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        sends.add(users.gw.client().post(StripeBillingTest.WEBHOOK).putHeader("Stripe-Signature", sign(created, now()))
            .sendBuffer(Buffer.buffer(created)));
      }
      Future.all(sends).await();
      long suspended = sends.stream().filter(f -> "suspended".equals(f.result().bodyAsJsonObject()
          .getString("outcome"))).count();
      assertEquals(1, suspended);

      GatewayHarness.awaitTrue("suspended on the first replica", () -> chat(key).statusCode() == 402);
      HttpResponse<Buffer> refused = chat(key);
      assertEquals("account_suspended", code(refused));
      assertTrue(refused.bodyAsJsonObject().getJsonObject("error").getString("message").contains("disputed"));
      GatewayHarness.awaitTrue("suspended on the second replica",
          () -> models(secondClient, secondPort, key).statusCode() == 402);

      JsonObject state = users.call("GET", "/api/orgs/" + org + "/billing", ada.token(), null).bodyAsJsonObject();
      JsonObject disputes = state.getJsonObject("disputes");
      assertEquals(true, disputes.getBoolean("suspended"));
      JsonObject d = disputes.getJsonArray("data").getJsonObject(0);
      assertEquals("dp_1", d.getString("id"));
      assertEquals("20.000000", d.getString("amount_usd"));
      assertEquals(true, d.getBoolean("open"));
      users.gw.pool().preparedQuery("UPDATE users SET is_admin = true WHERE id = $1").execute(Tuple.of(ada.id()))
          .await();
      HttpResponse<Buffer> admin = users.call("GET", "/api/admin/orgs/" + org, ada.token(), null);
      assertEquals(200, admin.statusCode(), admin.bodyAsString());
      assertEquals(true, admin.bodyAsJsonObject().getBoolean("suspended"));
      assertEquals(1L, admin.bodyAsJsonObject().getLong("open_dispute_count"));

      HttpResponse<Buffer> won = deliver(event("evt_dp_won", "charge.dispute.closed",
          dispute("dp_1", "pi_cs_d", 2000, "won")));
      assertEquals("dispute_won", won.bodyAsJsonObject().getString("outcome"));
      GatewayHarness.awaitTrue("restored on the first replica", () -> chat(key).statusCode() == 200);
      GatewayHarness.awaitTrue("restored on the second replica",
          () -> models(secondClient, secondPort, key).statusCode() == 200);
      assertEquals(0L, users.gw.pool().query("SELECT count(*) FROM credit_ledger WHERE idempotency_key LIKE"
          + " 'stripe:dispute:%'").execute().await().iterator().next().getLong(0), "a won dispute moves no money");
      assertEquals(false, users.call("GET", "/api/orgs/" + org + "/billing", ada.token(), null).bodyAsJsonObject()
          .getJsonObject("disputes").getBoolean("suspended"));
      secondClient.close();
    } finally {
      if (second != null) {
        second.close().await();
      }
      llama.close().await();
    }
  }

  @Test
  @DisplayName("a lost dispute lifts the suspension and debits the disputed amount once, below zero if need be:"
      + " a redelivery and a second 'closed' event of the dispute move nothing more; the hot balance follows")
  void lostDisputeDebitsOnce() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    long start = users.gw.ledgerBalance(org);
    if (start != 0) {
      users.gw.credit(org, -start);
    }
    deliver(event("evt_pay", "checkout.session.completed", session("cs_l", org, 1500, "paid")));
    users.gw.credit(org, -10_000_000L); // spent 10 of the 15
    redis.send(Request.cmd(Command.DEL).arg(RedisKeys.balance(org))).await();
    deliver(event("evt_open", "charge.dispute.created", dispute("dp_l", "pi_cs_l", 1500, "needs_response")));
    String lost = event("evt_lost", "charge.dispute.closed", dispute("dp_l", "pi_cs_l", 1500, "lost"));
    assertEquals("dispute_lost", deliver(lost).bodyAsJsonObject().getString("outcome"));
    assertEquals(-10_000_000L, users.gw.ledgerBalance(org), "15 paid - 10 spent - 15 taken back by the bank");
    assertEquals("duplicate", deliver(lost).bodyAsJsonObject().getString("outcome"));
    assertEquals("duplicate_payment", deliver(event("evt_lost_again", "charge.dispute.closed",
        dispute("dp_l", "pi_cs_l", 1500, "lost"))).bodyAsJsonObject().getString("outcome"));
    assertEquals(-10_000_000L, users.gw.ledgerBalance(org));
    var hot = redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(org))).await();
    assertTrue(hot == null || hot.toLong() == -10_000_000L, "hot balance " + hot);
    Row row = users.gw.pool().preparedQuery("SELECT d.closed_at IS NOT NULL AS closed, d.status, l.amount_micros,"
        + " l.idempotency_key FROM stripe_disputes d JOIN credit_ledger l ON l.id = d.ledger_entry_id"
        + " WHERE d.id = 'dp_l'").execute().await().iterator().next();
    assertEquals(true, row.getBoolean("closed"));
    assertEquals("lost", row.getString("status"));
    assertEquals(-15_000_000L, row.getLong("amount_micros"));
    assertEquals("stripe:dispute:dp_l", row.getString("idempotency_key"));
  }

  @Test
  @DisplayName("'closed' before 'created' (out of order) leaves the organization unsuspended; the organization of a"
      + " payment we never recorded is found through the charge's customer, asked from Stripe")
  void closedBeforeCreated() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    users.gw.pool().preparedQuery("INSERT INTO stripe_customers (org_id, customer_id) VALUES ($1, 'cus_o')")
        .execute(Tuple.of(org)).await();
    stripe.add(charge("ch_o", "cus_o", "pi_unknown", 1000, now()));
    String key = users.gw.createKey(org, null);
    assertEquals("dispute_won", deliver(event("evt_c", "charge.dispute.closed",
        dispute("dp_o", "pi_unknown", 1000, "won").put("charge", "ch_o"))).bodyAsJsonObject().getString("outcome"));
    assertEquals(1, stripe.received("/v1/charges/ch_o").size(), "the charge's customer, asked once");
    assertEquals("already_closed", deliver(event("evt_o", "charge.dispute.created",
        dispute("dp_o", "pi_unknown", 1000, "needs_response").put("charge", "ch_o"))).bodyAsJsonObject()
        .getString("outcome"));
    assertEquals(200, users.gw.get("/v1/models", key).statusCode(), "not suspended");
    assertEquals(false, users.call("GET", "/api/orgs/" + org + "/billing", ada.token(), null).bodyAsJsonObject()
        .getJsonObject("disputes").getBoolean("suspended"));

    HttpResponse<Buffer> nobody = deliver(event("evt_n", "charge.dispute.created",
        dispute("dp_n", "pi_nobody", 1000, "needs_response").put("charge", "ch_nobody")));
    assertEquals("unknown_org", nobody.bodyAsJsonObject().getString("outcome"), "flagged for an operator");
    HttpResponse<Buffer> hostile = deliver(event("evt_h", "charge.dispute.created",
        dispute("dp_h", "pi_unknown", 1000, "needs_response").put("amount", "1000")));
    assertEquals("unexpected_dispute", hostile.bodyAsJsonObject().getString("outcome"), "an amount that is no number");
  }

  @Test
  @DisplayName("'created' and 'closed' of one dispute delivered at once, five times each: it ends closed, the"
      + " organization not suspended, each event applied once")
  void createdAndClosedAtOnce() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    deliver(event("evt_pay", "checkout.session.completed", session("cs_cc", org, 1000, "paid")));
    String created = event("evt_cc_open", "charge.dispute.created", dispute("dp_cc", "pi_cs_cc", 1000,
        "needs_response"));
    String closed = event("evt_cc_won", "charge.dispute.closed", dispute("dp_cc", "pi_cs_cc", 1000, "won"));
    List<Future<HttpResponse<Buffer>>> sends = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      for (String e : List.of(created, closed)) {
        sends.add(users.gw.client().post(StripeBillingTest.WEBHOOK).putHeader("Stripe-Signature", sign(e, now()))
            .sendBuffer(Buffer.buffer(e)));
      }
    }
    Future.all(sends).await();
    sends.forEach(f -> assertEquals(200, f.result().statusCode(), f.result().bodyAsString()));
    Row row = users.gw.pool().query("SELECT closed_at IS NOT NULL AS closed, status FROM stripe_disputes"
        + " WHERE id = 'dp_cc'").execute().await().iterator().next();
    assertEquals(true, row.getBoolean("closed"));
    assertEquals("won", row.getString("status"));
    assertEquals(2L, users.gw.pool().query("SELECT count(*) FROM stripe_events WHERE id LIKE 'evt_cc_%'").execute()
        .await().iterator().next().getLong(0));
    String key = users.gw.createKey(org, null);
    assertEquals(200, users.gw.get("/v1/models", key).statusCode());
  }

  // ---- helpers --------------------------------------------------------------------------------------------

  /** A dispute as Stripe sends it: no metadata of ours, the charge and PaymentIntent it is about. */
  static JsonObject dispute(String id, String paymentIntent, long cents, String status) {
    return new JsonObject().put("id", id).put("object", "dispute").put("amount", cents).put("currency", "usd")
        .put("charge", "ch_" + paymentIntent).put("payment_intent", paymentIntent).put("reason", "fraudulent")
        .put("status", status).put("is_charge_refundable", false).put("livemode", false).put("created", now())
        .put("metadata", new JsonObject());
  }

  /** A succeeded charge as {@code GET /v1/charges} lists it. */
  static JsonObject charge(String id, String customer, String paymentIntent, long cents, long created) {
    return new JsonObject().put("id", id).put("object", "charge").put("amount", cents).put("amount_captured", cents)
        .put("amount_refunded", 0).put("currency", "usd").put("customer", customer)
        .put("payment_intent", paymentIntent).put("status", "succeeded").put("paid", true).put("refunded", false)
        .put("disputed", false).put("captured", true).put("livemode", false).put("created", created)
        .put("description", "GPT API credit").put("receipt_url", "https://pay.stripe.com/receipts/" + id)
        .put("metadata", new JsonObject());
  }

  private HttpResponse<Buffer> deliver(String event) {
    HttpResponse<Buffer> resp = users.gw.client().post(StripeBillingTest.WEBHOOK)
        .putHeader("Stripe-Signature", sign(event, now())).sendBuffer(Buffer.buffer(event)).await();
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    return resp;
  }

  private HttpResponse<Buffer> chat(String key) {
    return users.gw.post("/v1/chat/completions", key, new JsonObject().put("model", "gpt-fast").put("max_tokens", 5)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hi"))));
  }

  private static HttpResponse<Buffer> models(WebClient client, int port, String key) {
    return client.get(port, "127.0.0.1", "/v1/models").bearerTokenAuthentication(key).send().await();
  }

  /** Another replica on the same PostgreSQL and Redis, in this JVM (its own key cache and subscription). */
  private Gateway secondReplica(Vertx vertx) {
    Map<String, String> env = GatewayProcess.environment("replica-2");
    env.putAll(STRIPE_ENV);
    env.put("STRIPE_API_BASE", stripe.base());
    env.put("PORT", String.valueOf(GatewayHarness.freePort()));
    env.put("METRICS_PORT", String.valueOf(GatewayHarness.freePort()));
    return Gateway.start(vertx, GatewayConfig.from(Env.of(env))).await();
  }
}
