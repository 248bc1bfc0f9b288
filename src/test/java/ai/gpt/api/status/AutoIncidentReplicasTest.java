package ai.gpt.api.status;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.Gateway;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.Sleep;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two replicas watch the same backend: when it dies, ONE automatic incident opens, dated from the first bad sample,
 * and it is resolved when the backend is back, dated from the first good sample. The replicas are two gateways in
 * this JVM ({@link StatusReplicas}).
 */
@ExtendWith(VertxExtension.class)
class AutoIncidentReplicasTest {
  private static final Map<String, String> ENV = Map.of("STATUS_SAMPLE_MS", "100", "STATUS_CACHE_MS", "100",
      "STATUS_INCIDENT_AFTER_SECONDS", "1", "STATUS_INCIDENT_UPDATE_MINUTES", "60");
  private GatewayHarness gw;
  private Gateway replicaB;
  private FakeLlamaServer fake;
  private WebClient client;

  @AfterEach
  void tearDown() {
    if (replicaB != null) {
      replicaB.close().await();
    }
    if (client != null) {
      client.close();
    }
    gw.close();
    fake.close().await();
  }

  private Row incident() {
    var rows = gw.pool().query("SELECT id, status, started_at, resolved_at, created_at, auto_subject,"
        + " (SELECT count(*) FROM incidents) AS total FROM incidents").execute().await();
    return rows.size() == 0 ? null : rows.iterator().next();
  }

  private JsonObject statusOf(int port) {
    return client.get(port, "127.0.0.1", "/api/status").send().await().bodyAsJsonObject();
  }

  @Test
  @DisplayName("a backend down on two replicas opens exactly one incident, resolved on recovery with true times")
  void oneIncidentForTwoReplicas(Vertx vertx) throws Exception {
    StatusTables.clean(vertx);
    gw = GatewayHarness.start(vertx, ENV);
    client = WebClient.create(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    long backend = gw.addBackend("gpt-fast", fake);
    replicaB = StatusReplicas.start(vertx, "status-replica-b", ENV);
    Sleep.ms(1_000);
    assertEquals(null, incident() == null ? null : incident().getString("auto_subject"),
        "no incident while the backend is healthy");

    Instant down = Instant.now();
    fake.setHealth(FakeLlamaServer.Health.FAIL);
    awaitTrue("an automatic incident", () -> incident() != null);
    Sleep.ms(1_500); // both replicas sample ~15 more times, each trying to open it
    Row open = incident();
    assertEquals(1, open.getLong("total"), "exactly one incident for two replicas");
    assertEquals("model:gpt-fast", open.getString("auto_subject"));
    assertEquals("investigating", open.getString("status"));
    Instant started = open.getOffsetDateTime("started_at").toInstant();
    assertTrue(!started.isBefore(down.minusMillis(50)) && started.isBefore(down.plusMillis(1_500)),
        "started_at " + started + " is the first bad sample after " + down);
    assertTrue(Duration.between(started, open.getOffsetDateTime("created_at").toInstant()).toMillis() >= 1_000,
        "opened only after STATUS_INCIDENT_AFTER_SECONDS, but dated from the start of the outage");
    JsonObject onB = statusOf(replicaB.port()).getJsonObject("incidents").getJsonArray("open").getJsonObject(0);
    assertEquals(open.getLong("id"), onB.getLong("id"));
    assertTrue(onB.getBoolean("automatic"));
    assertEquals(java.util.List.of("gpt-fast"), onB.getJsonArray("models").getList());

    Instant up = Instant.now();
    fake.setHealth(FakeLlamaServer.Health.OK);
    awaitTrue("the incident resolved", () -> incident().getOffsetDateTime("resolved_at") != null);
    Row resolved = incident();
    assertEquals(1, resolved.getLong("total"));
    assertEquals("resolved", resolved.getString("status"));
    Instant resolvedAt = resolved.getOffsetDateTime("resolved_at").toInstant();
    // The health checker's back-off decides when the backend is seen again (a few seconds at most here).
    assertTrue(!resolvedAt.isBefore(up.minusMillis(50)) && resolvedAt.isBefore(up.plusSeconds(8)),
        "resolved_at " + resolvedAt + " is the first good sample after " + up);
    assertTrue(resolvedAt.isBefore(Instant.now().minusMillis(900)), "resolved after being good for a second");
    assertEquals(open.getOffsetDateTime("started_at"), resolved.getOffsetDateTime("started_at"));
    long updates = gw.pool().query("SELECT count(*) FROM incident_updates WHERE status = 'resolved'").execute()
        .await().iterator().next().getLong(0);
    assertEquals(1, updates, "one resolution update");
    awaitTrue("replica B shows it as recent", () -> statusOf(replicaB.port()).getJsonObject("incidents")
        .getJsonArray("recent").size() == 1);
    Sleep.ms(1_500);
    assertEquals(1, incident().getLong("total"), "no incident reopened after the recovery");
  }

  @Test
  @DisplayName("5xx answers seen by one replica only open one incident; the replica without that traffic does not"
      + " resolve it; it is resolved once answers succeed again")
  void errorRateSeenByOneReplica(Vertx vertx) {
    StatusTables.clean(vertx);
    Map<String, String> env = new HashMap<>(ENV);
    env.put("STATUS_MIN_REQUESTS", "5");
    env.put("STATUS_ERROR_RATE", "0.5");
    gw = GatewayHarness.start(vertx, env);
    client = WebClient.create(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    gw.addBackend("gpt-fast", fake);
    replicaB = StatusReplicas.start(vertx, "status-replica-b", env);
    String key = gw.createKey();
    JsonObject chat = new JsonObject().put("model", "gpt-fast").put("max_tokens", 2)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));

    // Every answer fails on replica A (the backend's /health still says 200); replica B gets no traffic.
    Instant bad = Instant.now();
    fake.setHealth(FakeLlamaServer.Health.ERROR_500);
    for (int i = 0; i < 10; i++) {
      assertTrue(gw.post("/v1/chat/completions", key, chat).statusCode() >= 500);
    }
    awaitTrue("an automatic incident", () -> incident() != null);
    Row open = incident();
    assertEquals("model:gpt-fast", open.getString("auto_subject"));
    Instant started = open.getOffsetDateTime("started_at").toInstant();
    assertTrue(!started.isBefore(bad.minusMillis(50)) && started.isBefore(Instant.now()), "started_at " + started);
    // Replica B sees the model fine (no failing traffic) for well over STATUS_INCIDENT_AFTER_SECONDS.
    Sleep.ms(3_000);
    assertEquals(null, incident().getOffsetDateTime("resolved_at"), "B did not resolve what A still sees");
    assertEquals(1, incident().getLong("total"));

    Instant up = Instant.now();
    fake.setHealth(FakeLlamaServer.Health.OK);
    for (int i = 0; i < 30; i++) {
      assertEquals(200, gw.post("/v1/chat/completions", key, chat).statusCode());
    }
    awaitTrue("the incident resolved", () -> incident().getOffsetDateTime("resolved_at") != null);
    Instant resolvedAt = incident().getOffsetDateTime("resolved_at").toInstant();
    assertTrue(!resolvedAt.isBefore(up.minusMillis(50)), "resolved_at " + resolvedAt + " is after the recovery " + up);
    assertEquals(1, incident().getLong("total"));
  }
}
