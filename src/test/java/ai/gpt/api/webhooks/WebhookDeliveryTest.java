package ai.gpt.api.webhooks;

import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.testing.FakeLlamaServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Deliveries end to end: facts written by the real API (keys, credits, chat usage) reach a real HTTP receiver,
 * signed per the Standard Webhooks spec (checked by {@link StandardWebhooksVerifier}, not our signing code), with
 * retries, give-up, resend, rotation, batching and the disabling of an endpoint that keeps failing.
 */
@ExtendWith(VertxExtension.class)
class WebhookDeliveryTest {
  private static final Map<String, String> ENV = Map.of(
      "WEBHOOK_ALLOW_LOOPBACK", "true",
      "WEBHOOK_POLL_MS", "50",
      "WEBHOOK_RETRY_BASE_MS", "100",
      "WEBHOOK_RETRY_MAX_MS", "200",
      "WEBHOOK_GIVE_UP_AFTER_MS", "1500",
      "WEBHOOK_DISABLE_AFTER_MS", "2500",
      "WEBHOOK_ROTATION_GRACE_MS", "2000");

  private ApiUsers users;
  private WebhookReceiver receiver;
  private User ada;
  private String base;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    users = ApiUsers.start(vertx, ENV);
    users.gw.pool().query("TRUNCATE webhook_outbox").execute().await();
    receiver = WebhookReceiver.start(vertx);
    ada = users.signUp("ada@example.com");
    base = "/api/orgs/" + ada.orgId() + "/webhooks";
  }

  @AfterEach
  void stop() {
    receiver.close();
    users.close();
  }

  /** Creates an endpoint at the receiver's {@code path}; returns its JSON with the secret. */
  private JsonObject endpoint(String path, String... events) {
    HttpResponse<Buffer> r = users.call("POST", base, ada.token(), new JsonObject().put("url", receiver.url(path))
        .put("events", new JsonArray(List.of((Object[]) events))));
    assertEquals(201, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject();
  }

  private String sendTest(long endpointId) {
    HttpResponse<Buffer> r = users.call("POST", base + "/" + endpointId + "/test", ada.token(), null);
    assertEquals(202, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getString("id");
  }

  private JsonObject delivery(long endpointId, String messageId) {
    HttpResponse<Buffer> r = users.call("GET", base + "/" + endpointId + "/deliveries?limit=100", ada.token(), null);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    for (Object d : r.bodyAsJsonObject().getJsonArray("data")) {
      if (((JsonObject) d).getString("id").equals(messageId)) {
        return (JsonObject) d;
      }
    }
    throw new AssertionError("no delivery " + messageId + " in " + r.bodyAsString());
  }

  private static boolean verifies(String secret, WebhookReceiver.Received r) {
    return StandardWebhooksVerifier.verify(secret, r.id(), r.timestamp(), r.signature(), r.body());
  }

  @Test
  @DisplayName("a test event arrives signed per the spec, and the delivery log shows status, latency and response")
  void signedTestEvent() {
    JsonObject ep = endpoint("/ok", "key.created");
    long id = ep.getLong("id");
    String messageId = sendTest(id);
    assertTrue(messageId.startsWith("msg_"), messageId);
    awaitTrue("the test event", () -> receiver.received.size() == 1);
    WebhookReceiver.Received got = receiver.received.get(0);
    assertEquals(messageId, got.id());
    assertTrue(verifies(ep.getString("secret"), got), "the independent verifier accepts the signature");
    assertFalse(verifies(WebhookSecret.generate(), got), "and refuses another secret");
    assertFalse(StandardWebhooksVerifier.verify(ep.getString("secret"), got.id(), got.timestamp(), got.signature(),
        got.body().replace("test", "tesT")), "and a changed body");
    assertEquals("127.0.0.1:" + receiver.port(), got.host());
    JsonObject body = got.json();
    assertEquals("webhook.test", body.getString("type"));
    assertNotNull(OffsetDateTime.parse(body.getString("timestamp")));
    assertEquals(id, body.getJsonObject("data").getLong("endpoint_id"));

    awaitTrue("delivered in the log", () -> "delivered".equals(delivery(id, messageId).getString("status")));
    JsonObject logged = delivery(id, messageId);
    assertEquals(200, logged.getInteger("response_status"));
    assertEquals("thanks", logged.getString("response_excerpt"));
    assertEquals(1, logged.getInteger("attempts"));
    assertNotNull(logged.getInteger("latency_ms"));
    assertEquals(null, logged.getValue("next_attempt_at"));
  }

  @Test
  @DisplayName("rotation: during the grace period both secrets verify (two signatures); after it only the new one")
  void rotation() throws Exception {
    JsonObject ep = endpoint("/ok", "key.created");
    long id = ep.getLong("id");
    String oldSecret = ep.getString("secret");
    HttpResponse<Buffer> rotated = users.call("POST", base + "/" + id + "/rotate-secret", ada.token(), null);
    String newSecret = rotated.bodyAsJsonObject().getString("secret");

    String during = sendTest(id);
    awaitTrue("message during grace", () -> receiver.matching(r -> r.id().equals(during)).size() == 1);
    WebhookReceiver.Received r1 = receiver.matching(r -> r.id().equals(during)).get(0);
    assertEquals(2, r1.signature().split(" ").length, r1.signature());
    assertTrue(verifies(oldSecret, r1), "the old secret still verifies");
    assertTrue(verifies(newSecret, r1), "the new secret verifies");

    Thread.sleep(2_100); // test thread: the 2 s grace period ends
    String after = sendTest(id);
    awaitTrue("message after grace", () -> receiver.matching(r -> r.id().equals(after)).size() == 1);
    WebhookReceiver.Received r2 = receiver.matching(r -> r.id().equals(after)).get(0);
    assertEquals(1, r2.signature().split(" ").length, r2.signature());
    assertTrue(verifies(newSecret, r2));
    assertFalse(verifies(oldSecret, r2), "the old secret no longer signs");
  }

  @Test
  @DisplayName("retries: a receiver failing twice then succeeding gets the same webhook-id and body each time")
  void retries() {
    long id = endpoint("/flaky", "key.created").getLong("id");
    String messageId = sendTest(id);
    awaitTrue("three attempts", () -> receiver.received.size() == 3);
    awaitTrue("delivered", () -> "delivered".equals(delivery(id, messageId).getString("status")));
    Set<String> ids = new HashSet<>();
    Set<String> bodies = new HashSet<>();
    receiver.received.forEach(r -> {
      ids.add(r.id());
      bodies.add(r.body());
    });
    assertEquals(Set.of(messageId), ids);
    assertEquals(1, bodies.size());
    assertEquals(3, delivery(id, messageId).getInteger("attempts"));
    assertEquals("ok", delivery(id, messageId).getString("response_excerpt"));
  }

  @Test
  @DisplayName("a message failing past WEBHOOK_GIVE_UP_AFTER_MS is failed; a resend delivers it with the same id")
  void giveUpThenResend() {
    long id = endpoint("/fail", "key.created").getLong("id");
    String messageId = sendTest(id);
    awaitTrue("failed", () -> "failed".equals(delivery(id, messageId).getString("status")));
    JsonObject failed = delivery(id, messageId);
    assertTrue(failed.getInteger("attempts") >= 2, failed.encode());
    assertEquals(500, failed.getInteger("response_status"));
    assertEquals("receiver is down", failed.getString("response_excerpt"));
    assertEquals("HTTP 500", failed.getString("error"));
    int attempts = receiver.received.size();
    assertEquals(failed.getInteger("attempts"), attempts);

    assertEquals(200, users.call("PATCH", base + "/" + id, ada.token(),
        new JsonObject().put("url", receiver.url("/ok"))).statusCode());
    HttpResponse<Buffer> resent = users.call("POST", base + "/" + id + "/deliveries/" + messageId + "/resend",
        ada.token(), null);
    assertEquals(202, resent.statusCode(), resent.bodyAsString());
    awaitTrue("delivered after resend", () -> "delivered".equals(delivery(id, messageId).getString("status")));
    WebhookReceiver.Received last = receiver.received.get(receiver.received.size() - 1);
    assertEquals("/ok", last.path());
    assertEquals(messageId, last.id());
    assertEquals(404, users.call("POST", base + "/" + id + "/deliveries/msg_nope/resend", ada.token(), null)
        .statusCode());
  }

  @Test
  @DisplayName("an endpoint failing longer than WEBHOOK_DISABLE_AFTER_MS is disabled once and its owner e-mailed")
  void disablesFailingEndpoint() throws Exception {
    long id = endpoint("/fail", "key.created").getLong("id");
    long deadline = System.currentTimeMillis() + 10_000;
    // Keep failing messages coming until the gateway disables the endpoint (then a test is refused with 409).
    while (users.call("POST", base + "/" + id + "/test", ada.token(), null).statusCode() == 202) {
      assertTrue(System.currentTimeMillis() < deadline, "disabled within 10 s");
      Thread.sleep(300); // test thread
    }
    JsonObject disabled = users.call("GET", base + "/" + id, ada.token(), null).bodyAsJsonObject();
    assertTrue(disabled.getString("disabled_reason").contains("HTTP 500"), disabled.encode());
    assertNotNull(disabled.getString("failing_since"));
    String mail = users.mailTo("ada@example.com", "Your webhook endpoint was disabled");
    assertTrue(mail.contains(receiver.url("/fail")), mail);
    assertFalse(disabled.getBoolean("enabled"));

    String parked = "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending' AND "
        + "next_attempt_at = 'infinity'";
    String pending = "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'";
    assertTrue(count(pending, id) > 0, "messages made in the last give-up period still wait");
    assertEquals(count(pending, id), count(parked, id), "parked while the endpoint is disabled");

    JsonObject enabled = users.call("PATCH", base + "/" + id, ada.token(), new JsonObject().put("enabled", true)
        .put("url", receiver.url("/ok"))).bodyAsJsonObject();
    assertTrue(enabled.getBoolean("enabled"));
    assertEquals(null, enabled.getValue("failing_since"));
    assertEquals(null, enabled.getValue("disabled_reason"));
    awaitTrue("the waiting messages delivered once enabled", () -> count(pending, id) == 0);
    assertTrue(receiver.matching(r -> r.path().equals("/ok")).size() > 0);
  }

  @Test
  @DisplayName("key.created, key.revoked, credits.added, usage.recorded and incident.* arrive from the real API "
      + "actions; payment.* from stored Stripe events; credits.low from a low-balance crossing row")
  void eventsFromApiActions(Vertx vertx) throws Exception {
    FakeLlamaServer fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    try {
      users.gw.addBackend("gpt-fast", fake);
      JsonObject ep = endpoint("/ok", "key.created", "key.revoked", "credits.added", "usage.recorded",
          "payment.succeeded", "payment.failed", "incident.created", "incident.updated", "incident.resolved",
          "credits.low");
      String secret = ep.getString("secret");
      users.gw.pool().preparedQuery("UPDATE users SET is_admin = true WHERE id = $1").execute(Tuple.of(ada.id()))
          .await();
      HttpResponse<Buffer> credit = users.gw.client().post("/api/admin/orgs/" + ada.orgId() + "/credits")
          .bearerTokenAuthentication(ada.token()).putHeader("Idempotency-Key", "hooks-1")
          .sendJsonObject(new JsonObject().put("usd", "10.00").put("reason", "welcome")).await();
      assertEquals(201, credit.statusCode(), credit.bodyAsString());

      HttpResponse<Buffer> created = users.call("POST", "/api/orgs/" + ada.orgId() + "/keys", ada.token(),
          new JsonObject().put("name", "ci"));
      assertEquals(201, created.statusCode(), created.bodyAsString());
      String keyId = created.bodyAsJsonObject().getString("id");
      HttpResponse<Buffer> chat = users.gw.post("/v1/chat/completions", created.bodyAsJsonObject().getString("key"),
          chat("gpt-fast"));
      assertEquals(200, chat.statusCode(), chat.bodyAsString());
      String requestId = chat.getHeader("x-request-id");
      assertEquals(200, users.call("DELETE", "/api/orgs/" + ada.orgId() + "/keys/" + keyId, ada.token(), null)
          .statusCode());

      // The usage row comes through the usage writer's stream, which takes longer on a busy machine.
      long deadline = System.currentTimeMillis() + 30_000;
      while (!(receiver.ofType("key.created").size() == 1 && receiver.ofType("key.revoked").size() == 1
          && receiver.ofType("credits.added").size() == 1 && receiver.ofType("usage.recorded").size() == 1)) {
        assertTrue(System.currentTimeMillis() < deadline, "all four event types within 30 s; arrived: "
            + receiver.received.stream().map(r -> r.json().getString("type")).toList());
        Thread.sleep(25); // test thread
      }
      receiver.received.forEach(r -> assertTrue(verifies(secret, r), r.body()));

      JsonObject keyCreated = receiver.ofType("key.created").get(0).json().getJsonObject("data");
      assertEquals(keyId, keyCreated.getString("key_id"));
      assertEquals("ci", keyCreated.getString("name"));
      JsonObject revoked = receiver.ofType("key.revoked").get(0).json().getJsonObject("data");
      assertEquals(keyId, revoked.getString("key_id"));
      assertEquals("revoked", revoked.getString("status"));

      JsonObject credited = receiver.ofType("credits.added").get(0).json().getJsonObject("data");
      assertEquals(10_000_000L, credited.getLong("amount_micros"));
      assertEquals("10.000000", credited.getString("amount_usd"));
      assertEquals("welcome", credited.getString("reason"));
      assertEquals(credit.bodyAsJsonObject().getString("balance_usd"), credited.getString("balance_usd"));

      JsonObject usage = receiver.ofType("usage.recorded").get(0).json().getJsonObject("data");
      assertEquals(1, usage.getInteger("count"));
      JsonObject event = usage.getJsonArray("events").getJsonObject(0);
      assertEquals(requestId, event.getString("request_id"));
      assertEquals(keyId, event.getString("key_id"));
      assertEquals("gpt-fast", event.getString("model"));
      long cost = event.getLong("cost_micros");
      assertTrue(cost > 0, event.encode());
      assertEquals(ai.gpt.api.billing.Money.decimalUsd(cost), event.getString("cost_usd"));
      assertTrue(event.getString("cost_usd").matches("\\d+\\.\\d{6}"), event.getString("cost_usd"));

      // Stripe events as the billing webhook stores them, and the status page's hook for incidents.
      users.gw.pool().preparedQuery("INSERT INTO stripe_events (id, type, org_id, object_id, outcome, amount_micros, "
          + "payment_intent) VALUES ('evt_ok', 'checkout.session.completed', $1, 'cs_1', 'credited', 25000000, 'pi_1'),"
          + " ('evt_no', 'checkout.session.async_payment_failed', $1, 'cs_2', 'payment_failed', 5000000, 'pi_2'),"
          + " ('evt_dup', 'checkout.session.completed', $1, 'cs_1', 'duplicate_payment', 25000000, 'pi_1')")
          .execute(Tuple.of(ada.orgId())).await();
      // A low-balance crossing as the billing feature claims it (twice: the second claim finds the row).
      for (int i = 0; i < 2; i++) {
        users.gw.pool().preparedQuery("INSERT INTO low_balance_alerts (org_id, threshold_micros) VALUES ($1, 5000000)"
            + " ON CONFLICT DO NOTHING").execute(Tuple.of(ada.orgId())).await();
      }
      // An incident opened, updated and resolved through the admin API.
      HttpResponse<Buffer> opened = users.call("POST", "/api/admin/incidents", ada.token(), new JsonObject()
          .put("title", "Slow completions").put("severity", "medium").put("message", "Looking into it.")
          .put("services", new JsonArray().add("chat_completions")).put("models", new JsonArray().add("gpt-fast")));
      assertEquals(201, opened.statusCode(), opened.bodyAsString());
      long incident = opened.bodyAsJsonObject().getLong("id");
      assertEquals(201, users.call("POST", "/api/admin/incidents/" + incident + "/updates", ada.token(),
          new JsonObject().put("status", "identified").put("message", "A backend is overloaded.")).statusCode());
      assertEquals(200, users.call("POST", "/api/admin/incidents/" + incident + "/resolve", ada.token(), null)
          .statusCode());
      awaitTrue("payments, the low balance and the incident", () -> receiver.ofType("payment.succeeded").size() == 1
          && receiver.ofType("payment.failed").size() == 1 && receiver.ofType("credits.low").size() == 1
          && receiver.ofType("incident.created").size() == 1 && receiver.ofType("incident.updated").size() == 1
          && receiver.ofType("incident.resolved").size() == 1);
      JsonObject paid = receiver.ofType("payment.succeeded").get(0).json().getJsonObject("data");
      assertEquals("evt_ok", paid.getString("stripe_event_id"));
      assertEquals("25.000000", paid.getString("amount_usd"));
      assertEquals("pi_1", paid.getString("payment_intent"));
      assertEquals("evt_no", receiver.ofType("payment.failed").get(0).json().getJsonObject("data")
          .getString("stripe_event_id"));
      JsonObject low = receiver.ofType("credits.low").get(0).json().getJsonObject("data");
      assertEquals("5.000000", low.getString("threshold_usd"), low.encode());
      JsonObject incidentCreated = receiver.ofType("incident.created").get(0).json().getJsonObject("data");
      assertEquals(incident, incidentCreated.getLong("incident_id"));
      assertEquals("Slow completions", incidentCreated.getString("title"));
      assertEquals("investigating", incidentCreated.getString("status"));
      assertEquals("Looking into it.", incidentCreated.getJsonObject("update").getString("message"));
      assertEquals("identified", receiver.ofType("incident.updated").get(0).json().getJsonObject("data")
          .getString("status"));
      JsonObject resolvedEvent = receiver.ofType("incident.resolved").get(0).json().getJsonObject("data");
      assertEquals("resolved", resolvedEvent.getString("status"));
      assertTrue(resolvedEvent.getString("resolved_at") != null, resolvedEvent.encode());
      Thread.sleep(300); // test thread: nothing more arrives (the second crossing claim found its row)
      assertEquals(1, receiver.ofType("credits.low").size());
    } finally {
      fake.close().await();
    }
  }

  @Test
  @DisplayName("limits.exceeded: the first 429 of a window is sent, once, with the limit that tripped")
  void limitsExceededOnce(Vertx vertx) {
    FakeLlamaServer fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    try {
      users.gw.addBackend("gpt-fast", fake);
      endpoint("/ok", "limits.exceeded");
      JsonObject key = users.call("POST", "/api/orgs/" + ada.orgId() + "/keys", ada.token(), new JsonObject()
          .put("name", "tight").put("limits", new JsonObject().put("rpm", 1))).bodyAsJsonObject();
      users.gw.credit(ada.orgId(), 10_000_000);
      List<Integer> statuses = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        statuses.add(users.gw.post("/v1/chat/completions", key.getString("key"), chat("gpt-fast")).statusCode());
      }
      assertEquals(List.of(200, 429, 429, 429), statuses);
      awaitTrue("limits.exceeded", () -> receiver.ofType("limits.exceeded").size() == 1);
      JsonObject data = receiver.ofType("limits.exceeded").get(0).json().getJsonObject("data");
      assertEquals("key", data.getString("scope"));
      assertEquals("requests_per_minute", data.getString("limit"));
      assertEquals(1L, data.getLong("limit_value"));
      assertEquals(60_000L, data.getLong("window_ms"));
      assertEquals(key.getString("id"), data.getString("key_id"));
      long sent = users.gw.pool().query("SELECT count(*) FROM webhook_deliveries WHERE type = 'limits.exceeded'")
          .execute().await().iterator().next().getLong(0);
      assertEquals(1L, sent, "three 429s in one window: one event");
    } finally {
      fake.close().await();
    }
  }

  @Test
  @DisplayName("usage.recorded: at most 500 events per message, full batches at once, a partial one at most once a "
      + "second")
  void usageBatching() {
    long id = endpoint("/ok", "usage.recorded").getLong("id");
    users.gw.pool().preparedQuery("""
        INSERT INTO usage (request_id, org_id, model, cost_micros, status, created_at)
        SELECT 'req_batch_' || i, $1, 'gpt-fast', i, 200, now() FROM generate_series(1, 1200) i""")
        .execute(Tuple.of(ada.orgId())).await();
    awaitTrue("1200 events", () -> eventsReceived() == 1200);
    List<Integer> counts = new ArrayList<>();
    Set<String> requestIds = new HashSet<>();
    for (WebhookReceiver.Received r : receiver.ofType("usage.recorded")) {
      JsonObject data = r.json().getJsonObject("data");
      counts.add(data.getInteger("count"));
      data.getJsonArray("events").forEach(e -> requestIds.add(((JsonObject) e).getString("request_id")));
    }
    counts.sort(null);
    assertEquals(List.of(200, 500, 500), counts);
    assertEquals(1200, requestIds.size(), "each event once");

    // Two single events in a row: the second waits for the endpoint's one-second gate.
    insertUsage("req_single_1");
    awaitTrue("first single", () -> eventsReceived() == 1201);
    insertUsage("req_single_2");
    awaitTrue("second single", () -> eventsReceived() == 1202);
    List<Row> singles = new ArrayList<>();
    users.gw.pool().preparedQuery("SELECT created_at FROM webhook_deliveries WHERE endpoint_id = $1 AND "
        + "event_count = 1 ORDER BY id").execute(Tuple.of(id)).await().forEach(singles::add);
    assertEquals(2, singles.size());
    long gapMs = java.time.Duration.between(singles.get(0).getOffsetDateTime(0), singles.get(1).getOffsetDateTime(0))
        .toMillis();
    assertTrue(gapMs >= 950, "partial batches at most once a second, gap " + gapMs + " ms");
  }

  private long count(String sql, long endpointId) {
    return users.gw.pool().preparedQuery(sql).execute(Tuple.of(endpointId)).await().iterator().next().getLong(0);
  }

  private void insertUsage(String requestId) {
    users.gw.pool().preparedQuery("INSERT INTO usage (request_id, org_id, model, cost_micros, status, created_at) "
        + "VALUES ($1, $2, 'gpt-fast', 1, 200, now())").execute(Tuple.of(requestId, ada.orgId())).await();
  }

  private int eventsReceived() {
    int n = 0;
    for (WebhookReceiver.Received r : receiver.ofType("usage.recorded")) {
      n += r.json().getJsonObject("data").getInteger("count");
    }
    return n;
  }
}
