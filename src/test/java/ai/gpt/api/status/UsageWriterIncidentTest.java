package ai.gpt.api.status;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.Gateway;
import ai.gpt.api.db.Database;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.Sleep;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The usage writers of two replicas really fall behind: a session holds a lock on the usage table, so their
 * INSERTs wait while requests keep being served and their usage events pile up in Redis. Billing turns degraded
 * on both replicas, ONE automatic incident opens, dated from the oldest waiting event, and when the lock goes the
 * writers catch up and the incident is resolved, dated from the first good sample.
 */
@ExtendWith(VertxExtension.class)
class UsageWriterIncidentTest {
  private static final Map<String, String> ENV = Map.of("STATUS_SAMPLE_MS", "100", "STATUS_CACHE_MS", "100",
      "STATUS_INCIDENT_AFTER_SECONDS", "2", "STATUS_INCIDENT_UPDATE_MINUTES", "60", "STATUS_USAGE_LAG_SECONDS", "1");
  private static final JsonObject CHAT = new JsonObject().put("model", "gpt-fast")
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
  private GatewayHarness gw;
  private Gateway replicaB;
  private FakeLlamaServer fake;
  private WebClient client;
  private Pool locker;

  @AfterEach
  void tearDown() {
    if (locker != null) {
      locker.close().await(); // ends the lock whatever happened
    }
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
    var rows = gw.pool().query("SELECT id, status, severity, services, started_at, resolved_at, created_at,"
        + " (SELECT count(*) FROM incidents) AS total FROM incidents WHERE auto_subject = 'usage_writer'")
        .execute().await();
    return rows.size() == 0 ? null : rows.iterator().next();
  }

  private String billing(int port) {
    return StatusReplicas.serviceLevel(client, port, "billing");
  }


  @Test
  @DisplayName("usage writers stalled on two replicas: billing degraded, one incident from the oldest waiting event,"
      + " resolved when they catch up")
  void writerFallsBehindAndCatchesUp(Vertx vertx) {
    StatusTables.clean(vertx);
    gw = GatewayHarness.start(vertx, ENV);
    client = WebClient.create(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    gw.addBackend("gpt-fast", fake);
    replicaB = StatusReplicas.start(vertx, "usage-lag-replica-b", ENV);
    String key = gw.createKey();
    long org = gw.orgOf(key);
    assertEquals(200, gw.post("/v1/chat/completions", key, CHAT).statusCode());
    awaitTrue("the first usage row written", () -> gw.usageRows(org) == 1);
    awaitTrue("billing operational", () -> "operational".equals(billing(gw.port()))
        && "operational".equals(billing(replicaB.port())));

    // Another session takes the usage table: the writers' INSERTs wait (reads and the request path do not).
    locker = Database.pool(vertx, TestServices.DATABASE_URL, 1);
    SqlConnection lock = locker.getConnection().await();
    lock.query("BEGIN").execute().await();
    lock.query("LOCK TABLE usage IN EXCLUSIVE MODE").execute().await();
    Instant firstWaiting = Instant.now();
    for (int i = 0; i < 6; i++) {
      assertEquals(200, gw.post("/v1/chat/completions", key, CHAT).statusCode(), "requests are still served");
      assertEquals(200, client.post(replicaB.port(), "127.0.0.1", "/v1/chat/completions")
          .bearerTokenAuthentication(key).sendJsonObject(CHAT).await().statusCode());
    }
    awaitTrue("billing degraded on both replicas", 30_000,
        () -> "degraded_performance".equals(billing(gw.port()))
            && "degraded_performance".equals(billing(replicaB.port())));
    assertEquals(1, gw.usageRows(org), "nothing written while the table is locked");
    awaitTrue("an automatic usage_writer incident", 30_000, () -> incident() != null);
    Sleep.ms(1_500); // both replicas sample ~15 more times, each trying to open it
    Row open = incident();
    assertEquals(1, open.getLong("total"), "exactly one incident for two replicas");
    assertEquals("investigating", open.getString("status"));
    assertEquals("medium", open.getString("severity"));
    assertEquals(java.util.List.of("billing"), java.util.List.of(open.getArrayOfStrings("services")));
    Instant started = open.getOffsetDateTime("started_at").toInstant();
    assertTrue(!started.isBefore(firstWaiting.minusMillis(50)) && started.isBefore(firstWaiting.plusSeconds(2)),
        "started_at " + started + " is the oldest waiting event's time, just after " + firstWaiting);
    assertTrue(Duration.between(started, open.getOffsetDateTime("created_at").toInstant()).toMillis() >= 2_000,
        "opened only after STATUS_INCIDENT_AFTER_SECONDS");

    Instant released = Instant.now();
    lock.query("COMMIT").execute().await();
    lock.close().await();
    awaitTrue("the writers caught up", 30_000, () -> gw.usageRows(org) == 13);
    awaitTrue("the incident resolved", 30_000, () -> incident().getOffsetDateTime("resolved_at") != null);
    Row resolved = incident();
    assertEquals(1, resolved.getLong("total"));
    Instant resolvedAt = resolved.getOffsetDateTime("resolved_at").toInstant();
    // The writer's probe measures the queue once a second: the first good sample comes within a few seconds.
    assertTrue(!resolvedAt.isBefore(released) && resolvedAt.isBefore(released.plusSeconds(6)),
        "resolved_at " + resolvedAt + " is the first good sample after " + released);
    assertEquals(1L, gw.pool().query("SELECT count(*) FROM incident_updates u JOIN incidents i ON i.id ="
        + " u.incident_id WHERE i.auto_subject = 'usage_writer' AND u.status = 'resolved'").execute().await()
        .iterator().next().getLong(0), "one resolution update");
    awaitTrue("billing operational again", () -> "operational".equals(billing(gw.port()))
        && "operational".equals(billing(replicaB.port())));
  }
}
