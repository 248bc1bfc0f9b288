package ai.gpt.api.metering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.TcpProxy;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Tuple;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** What admission and settlement do while the limiter's Redis is unreachable, under each failure policy. */
@ExtendWith(VertxExtension.class)
class RedisFailurePolicyTest {
  private FakeLlamaServer fake;
  private TcpProxy redis;
  private GatewayHarness gw;

  private void start(Vertx vertx, String policy) {
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(8)).await();
    redis = TcpProxy.start(vertx, "127.0.0.1", 6379).await();
    String db = TestServices.REDIS_URL.substring(TestServices.REDIS_URL.lastIndexOf('/'));
    gw = GatewayHarness.start(vertx, Map.of("REDIS_URL", "redis://127.0.0.1:" + redis.port() + db,
        "METERING_FAILURE_POLICY", policy));
    gw.addBackend("gpt-fast", fake);
  }

  @AfterEach
  void stop() {
    redis.restore();
    gw.close();
    redis.close().await();
    fake.close().await();
  }

  @Test
  @DisplayName("closed: 503 while Redis is down, one incident however many requests, served again when it returns")
  void closedPolicy(Vertx vertx) {
    start(vertx, "closed");
    String key = gw.createKey();
    assertEquals(200, gw.post("/v1/chat/completions", key, AdmissionHttpTest.chat(5)).statusCode());

    redis.cut();
    for (int i = 0; i < 5; i++) {
      HttpResponse<Buffer> refused = gw.post("/v1/chat/completions", key, AdmissionHttpTest.chat(5));
      assertEquals(503, refused.statusCode(), refused.bodyAsString());
      assertEquals("service_unavailable", refused.bodyAsJsonObject().getJsonObject("error").getString("code"));
      assertEquals("1", refused.getHeader("retry-after"));
    }
    assertEquals(1, fake.requestCount(), "nothing was served without admission");
    String metrics = gw.metrics();
    assertTrue(metrics.contains("gptapi_metering_redis_down 1.0"), "the outage is visible");
    assertTrue(metrics.contains("gptapi_metering_redis_incidents_total 1.0"), "one incident, not one per request");

    redis.restore();
    GatewayHarness.awaitTrue("served again", () ->
        gw.post("/v1/chat/completions", key, AdmissionHttpTest.chat(5)).statusCode() == 200);
    assertTrue(gw.metrics().contains("gptapi_metering_redis_down 0.0"));
  }

  @Test
  @DisplayName("open: served on this replica's limits while Redis is down, billed once, replayed when it returns")
  void openPolicy(Vertx vertx) {
    start(vertx, "open");
    long org = gw.createOrg("open");
    gw.pool().preparedQuery("UPDATE organizations SET rpm = 3 WHERE id = $1").execute(Tuple.of(org)).await();
    String key = gw.createKey(org, null);
    // Served through Redis: this replica now knows the organization's available credit.
    assertEquals(200, gw.post("/v1/chat/completions", key, AdmissionHttpTest.chat(5)).statusCode());
    GatewayHarness.awaitTrue("first usage row", () -> gw.usageRows(org) == 1);

    redis.cut();
    for (int i = 0; i < 3; i++) {
      HttpResponse<Buffer> served = gw.post("/v1/chat/completions", key, AdmissionHttpTest.chat(5));
      assertEquals(200, served.statusCode(), served.bodyAsString());
      assertEquals("3", served.getHeader("x-ratelimit-limit-requests"), "the same limits, kept locally");
    }
    HttpResponse<Buffer> refused = gw.post("/v1/chat/completions", key, AdmissionHttpTest.chat(5));
    assertEquals(429, refused.statusCode(), "the local copy of the limits still refuses the 4th in a minute");
    // Settlements Redis refused are written straight to PostgreSQL, so they survive even a crash of this replica.
    GatewayHarness.awaitTrue("usage written while Redis is down", () -> gw.usageRows(org) == 4);
    assertTrue(gw.metrics().contains("gptapi_settlements_pending 3.0"), "and kept for Redis");
    assertTrue(gw.metrics().contains("source=\"local\""));

    redis.restore();
    GatewayHarness.awaitTrue("settlements replayed to Redis",
        () -> gw.metrics().contains("gptapi_settlements_pending 0.0"));
    // The replayed events reach the usage writer too; it must not write them twice.
    GatewayHarness.awaitTrue("writer caught up", () -> gw.metrics().lines()
        .anyMatch(l -> l.startsWith("gptapi_usage_queue_length") && l.endsWith(" 0.0")));
    assertEquals(4, gw.usageRows(org));
    long cost = gw.pool().preparedQuery("SELECT SUM(cost_micros) FROM usage WHERE org_id = $1")
        .execute(Tuple.of(org)).await().iterator().next().getLong(0);
    assertTrue(cost > 0);
    assertEquals(GatewayHarness.DEFAULT_CREDIT_MICROS - cost, gw.ledgerBalance(org), "each request debited once");
    assertEquals(1L, gw.pool().preparedQuery("SELECT count(*) FROM hot_balance_stale WHERE org_id = $1")
        .execute(Tuple.of(org)).await().iterator().next().getLong(0),
        "the direct writes marked the hot balance stale, for the next gateway start should this one die");

    // The replay dropped the hot balance (a reload since the direct writes would already count them): the next
    // admission loads it, and once that request is written too the hot balance is the ledger's, to the micro-dollar.
    assertEquals(200, gw.post("/v1/chat/completions", key, AdmissionHttpTest.chat(5)).statusCode());
    GatewayHarness.awaitTrue("fifth usage row", () -> gw.usageRows(org) == 5);
    Redis client = Redis.createClient(vertx, TestServices.REDIS_URL);
    try {
      assertEquals(String.valueOf(gw.ledgerBalance(org)),
          String.valueOf(client.send(Request.cmd(Command.GET).arg(RedisKeys.balance(org))).await()));
    } finally {
      client.close().await();
    }
  }
}
