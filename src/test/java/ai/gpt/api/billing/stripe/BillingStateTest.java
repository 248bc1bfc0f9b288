package ai.gpt.api.billing.stripe;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.billing.stripe.StripeBillingTest.now;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.FakeStripe;
import ai.gpt.api.testing.FakeStripe.Received;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** GET /api/orgs/{id}/billing and POST /api/orgs/{id}/billing/portal against the fake Stripe API. */
@ExtendWith(VertxExtension.class)
class BillingStateTest {
  private FakeStripe stripe;
  private ApiUsers users;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    stripe = FakeStripe.start(vertx);
    Map<String, String> env = new HashMap<>(DisputesTest.STRIPE_ENV);
    env.put("STRIPE_API_BASE", stripe.base());
    users = ApiUsers.start(vertx, env);
  }

  @AfterEach
  void stop() {
    users.close();
    stripe.close();
  }

  @Test
  @DisplayName("portal: admin+ only; a Billing Portal session for the organization's customer returning to the"
      + " Billing tab; its url answered")
  void portal() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    HttpResponse<Buffer> resp = users.call("POST", "/api/orgs/" + org + "/billing/portal", ada.token(), null);
    assertEquals(201, resp.statusCode(), resp.bodyAsString());
    Received sent = stripe.received("/v1/billing_portal/sessions").get(0);
    assertEquals("cus_test1", sent.form().get("customer"), "the customer is created on first need");
    assertEquals(ApiClient.PUBLIC_URL + "/dashboard/billing?org=" + org, sent.form().get("return_url"));
    assertEquals("Bearer sk_test_fake", sent.headers().get("Authorization"));
    JsonObject body = resp.bodyAsJsonObject();
    assertEquals("billing_portal_session", body.getString("object"));
    assertTrue(body.getString("url").startsWith("https://billing.stripe.com/p/session/"), body.getString("url"));

    User bob = users.signUp("bob@example.com");
    users.addMember(org, bob, "member");
    assertEquals(403, users.call("POST", "/api/orgs/" + org + "/billing/portal", bob.token(), null).statusCode());
    assertEquals(404, users.call("POST", "/api/orgs/" + bob.orgId() + "/billing/portal", ada.token(), null)
        .statusCode(), "not a member: as if it did not exist");
    assertEquals(1, stripe.received("/v1/billing_portal/sessions").size());
  }

  @Test
  @DisplayName("state: any member; customer, payments with receipt URLs (newest first, refunds shown), disputes;"
      + " with Stripe down the state still answers, payments marked unavailable; non-members 404")
  void state() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    HttpResponse<Buffer> fresh = users.call("GET", "/api/orgs/" + org + "/billing", ada.token(), null);
    assertEquals(200, fresh.statusCode(), fresh.bodyAsString());
    assertNull(fresh.bodyAsJsonObject().getString("customer_id"));
    assertEquals(new JsonArray(), fresh.bodyAsJsonObject().getJsonArray("payments"), "no customer: no Stripe call");
    assertEquals(0, stripe.received("/v1/charges").size());

    users.gw.pool().query("INSERT INTO stripe_customers (org_id, customer_id) VALUES (" + org + ", 'cus_s')")
        .execute().await();
    stripe.add(DisputesTest.charge("ch_old", "cus_s", "pi_old", 1000, now() - 100));
    stripe.add(DisputesTest.charge("ch_new", "cus_s", "pi_new", 2550, now()).put("amount_refunded", 550));
    stripe.add(DisputesTest.charge("ch_other", "cus_other", "pi_other", 9900, now()));
    User bob = users.signUp("bob@example.com");
    users.addMember(org, bob, "member");
    HttpResponse<Buffer> resp = users.call("GET", "/api/orgs/" + org + "/billing", bob.token(), null);
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    JsonObject state = resp.bodyAsJsonObject();
    assertEquals("billing_state", state.getString("object"));
    assertEquals("cus_s", state.getString("customer_id"));
    assertEquals(false, state.getJsonObject("disputes").getBoolean("suspended"));
    JsonArray payments = state.getJsonArray("payments");
    assertEquals(2, payments.size(), payments.encode());
    JsonObject newest = payments.getJsonObject(0);
    assertEquals("ch_new", newest.getString("id"));
    assertEquals(25_500_000L, newest.getLong("amount_micros"));
    assertEquals("25.500000", newest.getString("amount_usd"));
    assertEquals("5.500000", newest.getString("amount_refunded_usd"));
    assertEquals("https://pay.stripe.com/receipts/ch_new", newest.getString("receipt_url"));
    assertEquals("succeeded", newest.getString("status"));
    Received list = stripe.received("/v1/charges").get(0);
    assertEquals("cus_s", list.form().get("customer"));
    assertEquals(String.valueOf(PaymentsSection.SHOWN), list.form().get("limit"));

    stripe.down(true);
    HttpResponse<Buffer> down = users.call("GET", "/api/orgs/" + org + "/billing", ada.token(), null);
    assertEquals(200, down.statusCode(), down.bodyAsString());
    JsonObject partial = down.bodyAsJsonObject();
    assertEquals(false, partial.getJsonObject("payments").getBoolean("available"));
    assertTrue(partial.getJsonObject("payments").getString("message").contains("payment provider"));
    assertEquals(false, partial.getJsonObject("disputes").getBoolean("suspended"), "the rest is there");
    assertEquals("cus_s", partial.getString("customer_id"));

    User eve = users.signUp("eve@example.com");
    HttpResponse<Buffer> stranger = users.call("GET", "/api/orgs/" + org + "/billing", eve.token(), null);
    assertEquals(404, stranger.statusCode());
    assertEquals("not_found", code(stranger));
  }
}
