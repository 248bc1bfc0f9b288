package ai.gpt.api.billing.stripe;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.apikeys.ApiUsers.param;
import static ai.gpt.api.billing.stripe.StripeBillingTest.SECRET;
import static ai.gpt.api.billing.stripe.StripeBillingTest.WEBHOOK;
import static ai.gpt.api.billing.stripe.StripeBillingTest.now;
import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
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
import ai.gpt.api.testing.GatewayHarness;
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
 * Plans sold as Stripe subscriptions, end to end: the subscription checkout against the fake Stripe API, and
 * signed subscription and invoice events (Stripe's API 2026-07-29.dahlia shapes) applied to the real organizations,
 * ledger and Redis, with the gateway enforcing the plan's limits.
 */
@ExtendWith(VertxExtension.class)
class SubscriptionBillingTest {
  private static final long DAY = 86_400;
  private static final String PRO = "pro-test";
  private static final String HIDDEN = "hidden-test";

  private FakeStripe stripe;
  private ApiUsers users;
  private Redis redis;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    stripe = FakeStripe.start(vertx);
    users = ApiUsers.start(vertx, Map.of("STRIPE_SECRET_KEY", "sk_test_fake", "STRIPE_WEBHOOK_SECRET", SECRET,
        "STRIPE_API_BASE", stripe.base()));
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    // Plans outlive a test (only organizations are truncated): each test sets the ones it uses.
    plan(PRO, 20_000_000L, 25_000_000L, true, null, 4L);
    plan(HIDDEN, 50_000_000L, 0, false, null, null);
  }

  @AfterEach
  void stop() {
    redis.close();
    users.close();
    stripe.close();
  }

  @Test
  @DisplayName("subscription checkout: a subscription-mode session with an inline monthly price (or the plan's"
      + " Stripe Price), org and plan in client_reference_id, metadata and subscription_data[metadata]; 404 unknown"
      + " plan, 400 not for sale, 403 member, 404 non-member, 409 with a live subscription")
  void subscriptionCheckout() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    HttpResponse<Buffer> resp = subscribe(ada, org, PRO);
    assertEquals(201, resp.statusCode(), resp.bodyAsString());
    JsonObject body = resp.bodyAsJsonObject();
    assertEquals("https://checkout.stripe.com/c/pay/" + body.getString("id"), body.getString("url"));
    assertEquals(PRO, body.getJsonObject("plan").getString("id"));
    Map<String, String> form = stripe.received("/v1/checkout/sessions").get(0).form();
    assertEquals("subscription", form.get("mode"));
    assertEquals("cus_test1", form.get("customer"));
    assertEquals("2000", form.get("line_items[0][price_data][unit_amount]"));
    assertEquals("usd", form.get("line_items[0][price_data][currency]"));
    assertEquals("month", form.get("line_items[0][price_data][recurring][interval]"));
    assertEquals("GPT API Pro test", form.get("line_items[0][price_data][product_data][name]"));
    assertEquals("1", form.get("line_items[0][quantity]"));
    assertNull(form.get("line_items[0][price]"));
    assertNull(form.get("payment_intent_data[metadata][org_id]"), "subscription mode has no payment_intent_data");
    for (String prefix : List.of("metadata", "subscription_data[metadata]")) {
      assertEquals(String.valueOf(org), form.get(prefix + "[org_id]"), prefix);
      assertEquals(PRO, form.get(prefix + "[plan_id]"), prefix);
    }
    assertEquals(String.valueOf(org), form.get("client_reference_id"));
    assertTrue(form.get("success_url").startsWith(ApiClient.PUBLIC_URL + "/dashboard/billing?org=" + org
        + "&subscription=success&session_id="), form.get("success_url"));
    assertEquals(ApiClient.PUBLIC_URL + "/dashboard/billing?org=" + org + "&subscription=canceled",
        form.get("cancel_url"));

    // An operator-managed Price is sent as is.
    plan(PRO, 20_000_000L, 25_000_000L, true, "price_1ProTest", 4L);
    assertEquals(201, subscribe(ada, org, PRO).statusCode());
    Map<String, String> withPrice = stripe.received("/v1/checkout/sessions").get(1).form();
    assertEquals("price_1ProTest", withPrice.get("line_items[0][price]"));
    assertNull(withPrice.get("line_items[0][price_data][unit_amount]"));

    assertRefused(subscribe(ada, org, "no-such-plan"), 404, "plan_not_found");
    assertRefused(subscribe(ada, org, HIDDEN), 400, "plan_not_for_sale");
    assertRefused(subscribe(ada, org, "default"), 400, "plan_not_for_sale");
    HttpResponse<Buffer> noPlan = users.call("POST", "/api/orgs/" + org + "/billing/subscription", ada.token(),
        new JsonObject());
    assertEquals(400, noPlan.statusCode());
    assertEquals("plan", param(noPlan));
    User bob = users.signUp("bob@example.com");
    users.addMember(org, bob, "member");
    assertEquals(403, subscribe(bob, org, PRO).statusCode(), "members may not subscribe the organization");
    User eve = users.signUp("eve@example.com");
    assertEquals(404, subscribe(eve, org, PRO).statusCode(), "non-members: as an unknown organization");

    deliver(event("evt_created", "customer.subscription.created", now(), subscription("sub_1", org, "active")));
    HttpResponse<Buffer> twice = subscribe(ada, org, PRO);
    assertRefused(twice, 409, "subscription_exists");
    assertTrue(twice.bodyAsJsonObject().getJsonObject("error").getString("message").contains("sub_1"));
    deliver(event("evt_deleted", "customer.subscription.deleted", now(), subscription("sub_1", org, "canceled")));
    assertEquals(201, subscribe(ada, org, PRO).statusCode(), "after cancellation the organization may subscribe");
    assertEquals(3, stripe.received("/v1/checkout/sessions").size());
  }

  @Test
  @DisplayName("subscription created: the organization is on the plan (10 concurrent deliveries apply once), the"
      + " limits API shows the plan's limits and every gateway enforces its rpm at once (429)")
  void subscriptionAppliesPlanLimits(Vertx vertx) {
    FakeLlamaServer llama = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(4)).await();
    try {
      users.gw.addBackend("gpt-fast", llama);
      User ada = users.signUp("ada@example.com");
      long org = ada.orgId();
      users.gw.credit(org, 10_000_000L);
      String key = users.gw.createKey(org, null);
      HttpResponse<Buffer> before = users.gw.post("/v1/chat/completions", key, chat("gpt-fast"));
      assertEquals(200, before.statusCode(), before.bodyAsString());
      assertEquals("600", before.getHeader("x-ratelimit-limit-requests"), "the default plan, now cached with the key");

      String created = event("evt_sub", "customer.subscription.created", now(), subscription("sub_a", org, "active"));
      List<HttpResponse<Buffer>> answers = deliverAtOnce(created, 10);
      assertEquals(1, answers.stream().filter(r -> "plan_changed".equals(outcome(r))).count());
      assertEquals(9, answers.stream().filter(r -> "duplicate".equals(outcome(r))).count());
      assertEquals(PRO, planOf(org));

      JsonObject limits = users.call("GET", "/api/orgs/" + org + "/limits", ada.token(), null).bodyAsJsonObject();
      assertEquals(PRO, limits.getJsonObject("plan").getString("id"));
      JsonObject rpm = limits.getJsonObject("org").getJsonArray("windows").getJsonObject(0);
      assertEquals(4L, rpm.getLong("plan"));

      // The key's cached limits were dropped on every gateway: the next requests meet the plan's rpm of 4.
      GatewayHarness.awaitTrue("the plan's rpm applied", () -> {
        HttpResponse<Buffer> r = users.gw.post("/v1/chat/completions", key, chat("gpt-fast"));
        return r.statusCode() == 429 || "4".equals(r.getHeader("x-ratelimit-limit-requests"));
      });
      HttpResponse<Buffer> limited = null;
      for (int i = 0; i < 5 && (limited == null || limited.statusCode() != 429); i++) {
        limited = users.gw.post("/v1/chat/completions", key, chat("gpt-fast"));
      }
      assertEquals(429, limited.statusCode(), limited.bodyAsString());
      assertEquals("rate_limit_exceeded", code(limited));
    } finally {
      llama.close().await();
    }
  }

  @Test
  @DisplayName("past_due and canceled move the organization to the default plan, active back to the plan;"
      + " incomplete changes nothing; the plan and subscription sections describe it")
  void statusesMovePlans() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    long t = now() - 100;
    assertEquals("subscription_recorded", outcome(deliver(event("evt_0", "customer.subscription.created", t,
        subscription("sub_s", org, "incomplete")))));
    assertEquals("default", planOf(org), "incomplete: the first payment is pending");
    assertEquals("plan_changed", outcome(deliver(event("evt_1", "customer.subscription.updated", t + 1,
        subscription("sub_s", org, "active")))));
    assertEquals(PRO, planOf(org));

    JsonObject section = (JsonObject) new SubscriptionSection(users.gw.pool()).describe(org).await();
    assertEquals("sub_s", section.getString("id"));
    assertEquals("active", section.getString("status"));
    assertEquals(PRO, section.getString("plan_id"));
    assertEquals(Instant.ofEpochSecond(PERIOD_END).toString(), section.getString("current_period_end"),
        "from the subscription item (dahlia), not the subscription");
    assertFalse(section.getBoolean("cancel_at_period_end"));
    JsonObject plan = (JsonObject) new PlanSection(users.gw.pool()).describe(org).await();
    assertEquals(PRO, plan.getString("id"));
    assertEquals("20.000000", plan.getString("monthly_price_usd"));
    assertEquals(25_000_000L, plan.getLong("included_credit_micros"));
    assertEquals(4L, plan.getJsonObject("limits").getLong("rpm"));

    assertEquals("plan_changed", outcome(deliver(event("evt_2", "customer.subscription.updated", t + 2,
        subscription("sub_s", org, "past_due")))));
    assertEquals("default", planOf(org));
    assertEquals("plan_changed", outcome(deliver(event("evt_3", "customer.subscription.updated", t + 3,
        subscription("sub_s", org, "active").put("cancel_at_period_end", true)))));
    assertEquals(PRO, planOf(org));
    assertTrue(((JsonObject) new SubscriptionSection(users.gw.pool()).describe(org).await())
        .getBoolean("cancel_at_period_end"));
    assertEquals("plan_changed", outcome(deliver(event("evt_4", "customer.subscription.deleted", t + 4,
        subscription("sub_s", org, "canceled")))));
    assertEquals("default", planOf(org));
    assertNull(new SubscriptionSection(users.gw.pool()).describe(org).await(), "no live subscription");
    assertEquals("default", ((JsonObject) new PlanSection(users.gw.pool()).describe(org).await()).getString("id"));

    // Events about an organization or plan we cannot tell are kept, flagged.
    assertEquals("unknown_org", outcome(deliver(event("evt_x", "customer.subscription.created", t,
        subscription("sub_x", 987_654, "active").put("customer", "cus_nobody")))));
    assertEquals("unknown_plan", outcome(deliver(event("evt_y", "customer.subscription.created", t,
        subscription("sub_y", org, "active").put("metadata", new JsonObject().put("org_id", "" + org)
            .put("plan_id", "gold-nonexistent"))))));
    assertEquals(2L, count("SELECT count(*) FROM stripe_events WHERE flagged AND id IN ('evt_x', 'evt_y')"));
  }

  @Test
  @DisplayName("out of order: an older customer.subscription.updated after a newer one changes nothing, nor does"
      + " anything after the subscription was deleted")
  void outOfOrderEventsChangeNothing() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    long t = now() - 100;
    deliver(event("evt_new", "customer.subscription.updated", t + 10, subscription("sub_o", org, "active")));
    assertEquals(PRO, planOf(org));
    assertEquals("stale_event", outcome(deliver(event("evt_old", "customer.subscription.updated", t,
        subscription("sub_o", org, "past_due")))));
    assertEquals(PRO, planOf(org));
    assertEquals("stale_event", outcome(deliver(event("evt_older", "customer.subscription.created", t - 5,
        subscription("sub_o", org, "incomplete")))));
    assertEquals("active", statusOf("sub_o"));

    deliver(event("evt_del", "customer.subscription.deleted", t + 20, subscription("sub_o", org, "canceled")));
    assertEquals("stale_event", outcome(deliver(event("evt_late", "customer.subscription.updated", t + 20,
        subscription("sub_o", org, "active")))), "the same second: deleted comes last");
    assertEquals("stale_event", outcome(deliver(event("evt_later", "customer.subscription.updated", t + 30,
        subscription("sub_o", org, "active")))), "a canceled subscription stays canceled");
    assertEquals("default", planOf(org));
    assertEquals("canceled", statusOf("sub_o"));
  }

  @Test
  @DisplayName("invoice.paid grants the plan's included credit once per invoice: 10 concurrent deliveries credit"
      + " once, the next month's invoice again; prorations, $0, non-subscription and zero-credit invoices grant"
      + " nothing; unknown subscriptions are flagged")
  void invoicesGrantIncludedCredit() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    long start = users.gw.ledgerBalance(org);
    redis.send(Request.cmd(Command.SET).arg(RedisKeys.balance(org)).arg(start)).await();
    deliver(event("evt_s", "customer.subscription.created", now(), subscription("sub_i", org, "active")));

    String first = event("evt_in1", "invoice.paid", now(), invoice("in_1", "sub_i", org, "subscription_create", 2000));
    List<HttpResponse<Buffer>> answers = deliverAtOnce(first, 10);
    assertEquals(1, answers.stream().filter(r -> "credited".equals(outcome(r))).count());
    assertEquals(start + 25_000_000L, users.gw.ledgerBalance(org));
    assertEquals(String.valueOf(start + 25_000_000L), redis.send(Request.cmd(Command.GET)
        .arg(RedisKeys.balance(org))).await().toString(), "the credit reached the hot balance");
    Row row = users.gw.pool().query("SELECT l.reason, l.kind, l.idempotency_key FROM stripe_events e JOIN"
        + " credit_ledger l ON l.id = e.ledger_entry_id WHERE e.id = 'evt_in1'").execute().await().iterator().next();
    assertEquals("stripe:invoice:in_1", row.getString("idempotency_key"));
    assertEquals("credit", row.getString("kind"));
    assertTrue(row.getString("reason").contains(PRO) && row.getString("reason").contains("sub_i"), row.getString("reason"));
    // Another event about the same invoice (Stripe also sends invoice.payment_succeeded-like duplicates).
    assertEquals("duplicate_payment", outcome(deliver(event("evt_in1b", "invoice.paid", now(),
        invoice("in_1", "sub_i", org, "subscription_create", 2000)))));

    assertEquals("credited", outcome(deliver(event("evt_in2", "invoice.paid", now(),
        invoice("in_2", "sub_i", org, "subscription_cycle", 2000)))));
    assertEquals(start + 50_000_000L, users.gw.ledgerBalance(org), "the second month grants again");

    assertEquals("not_a_period_invoice", outcome(deliver(event("evt_pr", "invoice.paid", now(),
        invoice("in_3", "sub_i", org, "subscription_update", 700)))));
    assertEquals("nothing_paid", outcome(deliver(event("evt_zero", "invoice.paid", now(),
        invoice("in_4", "sub_i", org, "subscription_cycle", 0)))));
    JsonObject oneOff = invoice("in_5", "sub_i", org, "manual", 900).putNull("parent");
    assertEquals("not_subscription", outcome(deliver(event("evt_one", "invoice.paid", now(), oneOff))));
    assertEquals(start + 50_000_000L, users.gw.ledgerBalance(org));

    // The invoice of a subscription no event told us about yet: org and plan from the subscription's metadata;
    // and an invoice in the shape of API versions before basil (top-level subscription, no parent).
    assertEquals("credited", outcome(deliver(event("evt_early", "invoice.paid", now(),
        invoice("in_6", "sub_new", org, "subscription_create", 2000)))));
    JsonObject legacy = invoice("in_7", "sub_i", org, "subscription_cycle", 2000).putNull("parent")
        .put("subscription", "sub_i");
    assertEquals("credited", outcome(deliver(event("evt_legacy", "invoice.paid", now(), legacy))));
    assertEquals(start + 100_000_000L, users.gw.ledgerBalance(org));

    JsonObject unknown = invoice("in_8", "sub_ghost", org, "subscription_cycle", 2000);
    unknown.getJsonObject("parent").getJsonObject("subscription_details").put("metadata", new JsonObject());
    unknown.getJsonObject("lines").getJsonArray("data").getJsonObject(0).put("metadata", new JsonObject());
    unknown.put("customer", "cus_nobody");
    assertEquals("unknown_subscription", outcome(deliver(event("evt_ghost", "invoice.paid", now(), unknown))));
    assertEquals(1L, count("SELECT count(*) FROM stripe_events WHERE flagged AND id = 'evt_ghost'"));

    plan(PRO, 20_000_000L, 0, true, null, 4L);
    assertEquals("no_included_credit", outcome(deliver(event("evt_free", "invoice.paid", now(),
        invoice("in_9", "sub_i", org, "subscription_cycle", 2000)))));
    assertEquals(start + 100_000_000L, users.gw.ledgerBalance(org));
    assertEquals(0L, count("SELECT count(*) FROM credit_ledger WHERE idempotency_key = 'stripe:invoice:in_9'"));
  }

  @Test
  @DisplayName("GET /api/plans: public, the plans for sale cheapest first with price, included credit and limits,"
      + " and the free plan; nothing an operator only sees")
  void publicPlans() {
    plan("cheap-test", 5_000_000L, 5_000_000L, true, "price_cheapTest", null);
    HttpResponse<Buffer> resp = users.call("GET", "/api/plans", null, null);
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    JsonObject body = resp.bodyAsJsonObject();
    List<String> ids = body.getJsonArray("data").stream().map(p -> ((JsonObject) p).getString("id")).toList();
    assertTrue(ids.indexOf("cheap-test") >= 0 && ids.indexOf("cheap-test") < ids.indexOf(PRO), ids.toString());
    assertFalse(ids.contains(HIDDEN));
    assertFalse(ids.contains("default"));
    JsonObject pro = body.getJsonArray("data").getJsonObject(ids.indexOf(PRO));
    assertEquals("Pro test", pro.getString("name"));
    assertEquals(20_000_000L, pro.getLong("monthly_price_micros"));
    assertEquals("20.000000", pro.getString("monthly_price_usd"));
    assertEquals("25.000000", pro.getString("included_credit_usd"));
    assertEquals(4L, pro.getJsonObject("limits").getLong("rpm"));
    assertTrue(pro.getJsonObject("limits").containsKey("tpd"));
    assertFalse(body.getJsonArray("data").getJsonObject(ids.indexOf("cheap-test")).containsKey("stripe_price_id"));
    assertEquals("default", body.getJsonObject("free_plan").getString("id"));
    assertEquals(600L, body.getJsonObject("free_plan").getJsonObject("limits").getLong("rpm"));
    users.gw.pool().query("UPDATE plans SET for_sale = false WHERE id = 'cheap-test'").execute().await();
  }

  // ---- helpers --------------------------------------------------------------------------------------------

  /** When the current period of every test subscription ends. */
  private static final long PERIOD_END = 1_800_000_000L;

  /** Creates or resets a plan (named after its id: "pro-test" is "Pro test"). */
  private void plan(String id, long priceMicros, long creditMicros, boolean forSale, String stripePrice, Long rpm) {
    String name = Character.toUpperCase(id.charAt(0)) + id.substring(1).replace('-', ' ');
    users.gw.pool().preparedQuery("INSERT INTO plans (id, name, monthly_price_micros, included_credit_micros,"
            + " for_sale, stripe_price_id, rpm) VALUES ($1, $2, $3, $4, $5, $6::text, $7::bigint) ON CONFLICT (id)"
            + " DO UPDATE SET name = $2, monthly_price_micros = $3, included_credit_micros = $4, for_sale = $5,"
            + " stripe_price_id = $6::text, rpm = $7::bigint")
        .execute(Tuple.tuple().addString(id).addString(name).addLong(priceMicros).addLong(creditMicros)
            .addBoolean(forSale).addString(stripePrice).addLong(rpm)).await();
  }

  private HttpResponse<Buffer> subscribe(User user, long org, String plan) {
    return users.call("POST", "/api/orgs/" + org + "/billing/subscription", user.token(),
        new JsonObject().put("plan", plan));
  }

  private static void assertRefused(HttpResponse<Buffer> resp, int status, String code) {
    assertEquals(status, resp.statusCode(), resp.bodyAsString());
    assertEquals(code, code(resp));
  }

  /** An event as Stripe sends it, created at {@code created} (Unix seconds). */
  private static String event(String id, String type, long created, JsonObject object) {
    return new JsonObject(StripeBillingTest.event(id, type, object)).put("created", created).encode();
  }

  /** A subscription to {@link #PRO} as Stripe's API 2026-07-29.dahlia shows it: the period is on its item. */
  static JsonObject subscription(String id, long orgId, String status) {
    long start = PERIOD_END - 30 * DAY;
    JsonObject price = new JsonObject().put("id", "price_inline_" + id).put("object", "price").put("active", false)
        .put("currency", "usd").put("unit_amount", 2000).put("type", "recurring").put("product", "prod_test")
        .put("recurring", new JsonObject().put("interval", "month").put("interval_count", 1)
            .put("usage_type", "licensed"));
    JsonObject item = new JsonObject().put("id", "si_" + id).put("object", "subscription_item")
        .put("subscription", id).put("quantity", 1).put("current_period_start", start)
        .put("current_period_end", PERIOD_END).put("metadata", new JsonObject()).put("price", price);
    return new JsonObject().put("id", id).put("object", "subscription").put("customer", "cus_test1")
        .put("status", status).put("cancel_at_period_end", false).putNull("cancel_at").putNull("canceled_at")
        .put("collection_method", "charge_automatically").put("currency", "usd").put("livemode", false)
        .put("created", start).put("billing_cycle_anchor", start).put("latest_invoice", "in_" + id)
        .put("metadata", new JsonObject().put("org_id", String.valueOf(orgId)).put("plan_id", PRO))
        .put("items", new JsonObject().put("object", "list").put("data", new JsonArray().add(item))
            .put("has_more", false).put("total_count", 1).put("url", "/v1/subscription_items?subscription=" + id));
  }

  /** A paid invoice of a {@link #PRO} subscription (dahlia: the subscription is under parent.subscription_details). */
  static JsonObject invoice(String id, String subscriptionId, long orgId, String billingReason, long paidCents) {
    JsonObject metadata = new JsonObject().put("org_id", String.valueOf(orgId)).put("plan_id", PRO);
    JsonObject line = new JsonObject().put("id", "il_" + id).put("object", "line_item").put("amount", paidCents)
        .put("currency", "usd").put("description", "1 × GPT API Pro test (at $20.00 / month)")
        .put("metadata", metadata.copy())
        .put("parent", new JsonObject().put("type", "subscription_item_details").putNull("invoice_item_details")
            .put("subscription_item_details", new JsonObject().put("subscription", subscriptionId)
                .put("subscription_item", "si_" + subscriptionId).put("proration", false).putNull("invoice_item")))
        .put("period", new JsonObject().put("start", PERIOD_END - 30 * DAY).put("end", PERIOD_END))
        .put("pricing", new JsonObject().put("type", "price_details").put("price_details", new JsonObject()
            .put("price", "price_inline_" + subscriptionId).put("product", "prod_test")));
    return new JsonObject().put("id", id).put("object", "invoice").put("customer", "cus_test1")
        .put("status", "paid").put("billing_reason", billingReason).put("collection_method", "charge_automatically")
        .put("currency", "usd").put("amount_due", paidCents).put("amount_paid", paidCents).put("amount_remaining", 0)
        .put("total", paidCents).put("livemode", false).put("created", now())
        .put("parent", new JsonObject().put("type", "subscription_details").putNull("quote_details")
            .put("subscription_details", new JsonObject().put("metadata", metadata).put("subscription", subscriptionId)))
        .put("lines", new JsonObject().put("object", "list").put("data", new JsonArray().add(line))
            .put("has_more", false).put("total_count", 1).put("url", "/v1/invoices/" + id + "/lines"));
  }

  private HttpResponse<Buffer> deliver(String event) {
    HttpResponse<Buffer> resp = send(event).await();
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    return resp;
  }

  private List<HttpResponse<Buffer>> deliverAtOnce(String event, int times) {
    List<Future<HttpResponse<Buffer>>> sends = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      sends.add(send(event));
    }
    Future.all(sends).await();
    List<HttpResponse<Buffer>> answers = new ArrayList<>();
    for (Future<HttpResponse<Buffer>> f : sends) {
      assertEquals(200, f.result().statusCode(), f.result().bodyAsString());
      answers.add(f.result());
    }
    return answers;
  }

  private Future<HttpResponse<Buffer>> send(String event) {
    return users.gw.client().post(WEBHOOK).putHeader("Stripe-Signature", FakeStripe.signature(SECRET, event, now()))
        .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(event));
  }

  private static String outcome(HttpResponse<Buffer> resp) {
    return resp.bodyAsJsonObject().getString("outcome");
  }

  private String planOf(long org) {
    return users.gw.pool().preparedQuery("SELECT plan_id FROM organizations WHERE id = $1").execute(Tuple.of(org))
        .await().iterator().next().getString(0);
  }

  private String statusOf(String subscription) {
    return users.gw.pool().preparedQuery("SELECT status FROM stripe_subscriptions WHERE id = $1")
        .execute(Tuple.of(subscription)).await().iterator().next().getString(0);
  }

  private long count(String sql) {
    return users.gw.pool().query(sql).execute().await().iterator().next().getLong(0);
  }
}
