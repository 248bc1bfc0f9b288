package ai.gpt.api.status;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.Gateway;
import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.testing.FakeStripe;
import ai.gpt.api.testing.Sleep;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Billing's level follows Stripe, the same on every replica: Stripe webhook events that our webhook fails to
 * process, or Stripe API calls that fail (the fake Stripe down), counted in Redis by whichever replica saw them,
 * put billing in partial outage on both replicas and open ONE automatic incident, resolved once the window holds
 * no failures. Requests with a bad signature, which anyone can send, count for nothing.
 */
@ExtendWith(VertxExtension.class)
class StripeIncidentTest {
  private static final String SECRET = "whsec_status_test";
  private static final String WEBHOOK = "/api/billing/stripe/webhook";
  private static final long WINDOW_SECONDS = 5;
  private FakeStripe stripe;
  private ApiUsers users;
  private Gateway replicaB;
  private WebClient client;
  private Map<String, String> env;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    StatusTables.clean(vertx);
    stripe = FakeStripe.start(vertx);
    env = new HashMap<>(Map.of("STATUS_SAMPLE_MS", "100", "STATUS_CACHE_MS", "100",
        "STATUS_INCIDENT_AFTER_SECONDS", "1", "STATUS_INCIDENT_UPDATE_MINUTES", "60",
        "STATUS_BILLING_WINDOW_SECONDS", String.valueOf(WINDOW_SECONDS), "STATUS_BILLING_MIN_FAILURES", "3",
        "STATUS_BILLING_FAILURE_RATE", "0.5"));
    env.putAll(Map.of("STRIPE_SECRET_KEY", "sk_test_fake", "STRIPE_WEBHOOK_SECRET", SECRET,
        "STRIPE_PUBLISHABLE_KEY", "pk_test_fake", "STRIPE_API_BASE", stripe.base()));
    users = ApiUsers.start(vertx, env);
    replicaB = StatusReplicas.start(vertx, "stripe-status-replica-b", env);
    client = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    client.close();
    replicaB.close().await();
    users.close();
    stripe.close();
  }

  private String billing(int port) {
    return StatusReplicas.serviceLevel(client, port, "billing");
  }


  private boolean billingOnBoth(String level) {
    return level.equals(billing(users.gw.port())) && level.equals(billing(replicaB.port()));
  }

  private List<Row> incidents() {
    List<Row> out = new java.util.ArrayList<>();
    users.gw.pool().query("SELECT id, severity, services, started_at, resolved_at, (SELECT message FROM"
        + " incident_updates u WHERE u.incident_id = i.id ORDER BY id LIMIT 1) AS first_message FROM incidents i"
        + " WHERE auto_subject = 'billing:stripe' ORDER BY id").execute().await().forEach(out::add);
    return out;
  }

  private HttpResponse<Buffer> postEvent(int port, String event, String signature) {
    return client.post(port, "127.0.0.1", WEBHOOK).putHeader("Stripe-Signature", signature)
        .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(event)).await();
  }

  /** A signed event our webhook cannot process (no data.object): Stripe would get a 400 and retry it. */
  private static String unprocessable(String id) {
    return new JsonObject().put("id", id).put("object", "event").put("api_version", "2026-07-29.dahlia")
        .put("created", Instant.now().getEpochSecond()).put("livemode", false).put("type", "checkout.session.completed")
        .put("data", new JsonObject()).encode();
  }

  private static String sign(String event) {
    return FakeStripe.signature(SECRET, event, Instant.now().getEpochSecond());
  }

  @Test
  @DisplayName("webhook processing failing, then Stripe's API down: billing in partial outage on both replicas, one"
      + " incident each time, resolved when the window is clean")
  void stripeFailuresOpenOneIncident() {
    awaitTrue("billing operational", () -> billingOnBoth("operational"));
    for (int i = 0; i < 5; i++) {
      assertEquals(400, postEvent(replicaB.port(), unprocessable("evt_forged_" + i), "t=1,v1=00").statusCode());
    }
    Sleep.ms(500);
    assertTrue(billingOnBoth("operational"), "unsigned posts are not Stripe failing");

    // Failures seen by replica B only; replica A's page shows them too (the counts are in Redis).
    for (int i = 0; i < 3; i++) {
      String event = unprocessable("evt_bad_" + i);
      HttpResponse<Buffer> r = postEvent(replicaB.port(), event, sign(event));
      assertEquals(400, r.statusCode(), r.bodyAsString());
      assertTrue(r.bodyAsString().contains("data.object"), r.bodyAsString());
    }
    Instant lastFailure = Instant.now();
    awaitTrue("billing in partial outage on both replicas", 30_000, () -> billingOnBoth("partial_outage"));
    awaitTrue("an automatic billing incident", 30_000, () -> incidents().size() == 1);
    Sleep.ms(1_000); // both replicas sample ~10 more times
    assertEquals(1, incidents().size(), "exactly one incident for two replicas");
    Row first = incidents().get(0);
    assertEquals("high", first.getString("severity"));
    assertEquals(List.of("billing"), List.of(first.getArrayOfStrings("services")));
    assertTrue(first.getString("first_message").contains("3 of 3 Stripe webhook events failed"),
        first.getString("first_message"));
    awaitTrue("resolved once the window has no failures", 60_000,
        () -> incidents().get(0).getOffsetDateTime("resolved_at") != null);
    Instant resolvedAt = incidents().get(0).getOffsetDateTime("resolved_at").toInstant();
    assertTrue(resolvedAt.isAfter(lastFailure.plusSeconds(WINDOW_SECONDS - 1)),
        "resolved_at " + resolvedAt + ": the failures of " + lastFailure + " counted for the whole window");
    awaitTrue("billing operational again", 30_000, () -> billingOnBoth("operational"));

    // Stripe's API down: top-ups fail with 502 and the failures count, whichever replica made the calls.
    User ada = users.signUp("ada@example.com");
    stripe.down(true);
    for (int i = 0; i < 3; i++) {
      HttpResponse<Buffer> r = users.call("POST", "/api/orgs/" + ada.orgId() + "/billing/checkout", ada.token(),
          new JsonObject().put("usd", "10"));
      assertEquals(502, r.statusCode(), r.bodyAsString());
    }
    awaitTrue("billing in partial outage on both replicas again", 30_000,
        () -> billingOnBoth("partial_outage"));
    awaitTrue("a second incident", 30_000, () -> incidents().size() == 2);
    assertTrue(incidents().get(1).getString("first_message").contains("calls to Stripe failed"),
        incidents().get(1).getString("first_message"));
    stripe.down(false);
    assertEquals(201, users.call("POST", "/api/orgs/" + ada.orgId() + "/billing/checkout", ada.token(),
        new JsonObject().put("usd", "10")).statusCode());
    awaitTrue("the second incident resolved", 60_000,
        () -> incidents().get(1).getOffsetDateTime("resolved_at") != null);
    assertEquals(2, incidents().size());
  }
}
