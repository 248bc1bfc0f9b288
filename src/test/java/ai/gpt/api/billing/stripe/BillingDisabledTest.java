package ai.gpt.api.billing.stripe;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Without STRIPE_SECRET_KEY billing is off, and says so. */
@ExtendWith(VertxExtension.class)
class BillingDisabledTest {
  private ApiUsers users;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    users = ApiUsers.start(vertx);
  }

  @AfterEach
  void stop() {
    users.close();
  }

  @Test
  @DisplayName("no secret key: checkout, portal, billing state and webhook answer 503 billing_disabled; /api/config says billing is off")
  void billingOff() {
    User ada = users.signUp("ada@example.com");
    HttpResponse<Buffer> checkout = users.call("POST", "/api/orgs/" + ada.orgId() + "/billing/checkout",
        ada.token(), new JsonObject().put("usd", "10"));
    assertEquals(503, checkout.statusCode(), checkout.bodyAsString());
    assertEquals("billing_disabled", code(checkout));
    for (String[] route : new String[][] {{"GET", "/billing"}, {"POST", "/billing/portal"}}) {
      HttpResponse<Buffer> off = users.call(route[0], "/api/orgs/" + ada.orgId() + route[1], ada.token(), null);
      assertEquals(503, off.statusCode(), route[1]);
      assertEquals("billing_disabled", code(off));
    }
    HttpResponse<Buffer> subscription = users.call("POST", "/api/orgs/" + ada.orgId() + "/billing/subscription",
        ada.token(), new JsonObject().put("plan", "default"));
    assertEquals("billing_disabled", code(subscription));
    String event = StripeBillingTest.event("evt_1", "checkout.session.completed",
        StripeBillingTest.session("cs_1", ada.orgId(), 1000, "paid"));
    HttpResponse<Buffer> webhook = users.gw.client().post(StripeBillingTest.WEBHOOK)
        .putHeader("Stripe-Signature", StripeBillingTest.sign(event, StripeBillingTest.now()))
        .sendBuffer(Buffer.buffer(event)).await();
    assertEquals(503, webhook.statusCode(), "Stripe keeps redelivering until billing is configured");
    assertEquals("billing_disabled", code(webhook));
    JsonObject config = users.call("GET", "/api/config", null, null).bodyAsJsonObject();
    assertEquals(false, config.getBoolean("billing_enabled"));
    assertNull(config.getString("stripe_publishable_key"));
  }
}
