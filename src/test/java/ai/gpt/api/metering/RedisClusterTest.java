package ai.gpt.api.metering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.config.RedisClients;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.RedisServers;
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
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The metered path on a real Redis Cluster: three masters started on loopback by the test (Debian's redis-server
 * with cluster-enabled, joined by redis-cli --cluster create), the gateway given all three as REDIS_URL. Admission,
 * settlement, the usage writer and the hot balances must work as on a single Redis, with organizations spread
 * over more than one node.
 */
@ExtendWith(VertxExtension.class)
class RedisClusterTest {
  private static final int ORGS = 6;
  private static final int REQUESTS_PER_ORG = 12;

  @Test
  @DisplayName("on a 3-node Redis Cluster every request is admitted, settled, written to PostgreSQL and billed exactly")
  void meteredPathOnCluster(Vertx vertx) throws Exception {
    try (RedisServers cluster = RedisServers.cluster(3)) {
      String redisUrl = String.join(",", cluster.urls());
      FakeLlamaServer fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(16)).await();
      GatewayHarness gw = GatewayHarness.start(vertx, Map.of("REDIS_URL", redisUrl));
      Redis redis = RedisClients.create(vertx, redisUrl, 4, 256);
      try {
        gw.addBackend("gpt-fast", fake);
        Map<Long, String> keyOfOrg = new HashMap<>();
        for (int i = 0; i < ORGS; i++) {
          String key = gw.createKey();
          keyOfOrg.put(gw.orgOf(key), key);
        }
        List<Future<HttpResponse<Buffer>>> sent = new ArrayList<>();
        Map<Future<HttpResponse<Buffer>>, Long> orgOfRequest = new HashMap<>();
        for (int r = 0; r < REQUESTS_PER_ORG; r++) {
          for (Map.Entry<Long, String> e : keyOfOrg.entrySet()) {
            Future<HttpResponse<Buffer>> f = gw.client().post("/v1/chat/completions")
                .bearerTokenAuthentication(e.getValue()).sendJsonObject(chat(r % 2 == 0));
            sent.add(f);
            orgOfRequest.put(f, e.getKey());
          }
        }
        Future.join(sent).await();
        for (Future<HttpResponse<Buffer>> f : sent) {
          assertTrue(f.succeeded(), () -> "request failed: " + f.cause());
          assertEquals(200, f.result().statusCode(), f.result().bodyAsString());
          assertNotNull(f.result().getHeader("x-ratelimit-remaining-requests"), "admission answered with limits");
        }

        for (long org : keyOfOrg.keySet()) {
          GatewayHarness.awaitTrue("usage rows of org " + org, () -> gw.usageRows(org) == REQUESTS_PER_ORG);
          long billed = gw.pool().preparedQuery("SELECT COALESCE(sum(cost_micros), 0) FROM usage WHERE org_id = $1")
              .execute(io.vertx.sqlclient.Tuple.of(org)).await().iterator().next().getLong(0);
          assertTrue(billed > 0, "requests cost something");
          long ledger = gw.ledgerBalance(org);
          assertEquals(GatewayHarness.DEFAULT_CREDIT_MICROS - billed, ledger, "ledger = credit - usage, exactly");
          Response hot = redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(org))).await();
          assertNotNull(hot, "hot balance of org " + org);
          assertEquals(ledger, hot.toLong(), "the hot balance in the cluster agrees with the ledger");
          Response held = redis.send(Request.cmd(Command.HGET).arg(RedisKeys.holds(org)).arg("_total")).await();
          assertEquals(0, held == null ? 0 : held.toLong(), "every hold was released");
        }
        int nodesWithKeys = 0;
        for (int port : cluster.ports()) {
          if (Long.parseLong(cluster.cli(port, "DBSIZE").trim()) > 0) {
            nodesWithKeys++;
          }
        }
        assertTrue(nodesWithKeys >= 2, "the organizations' keys are spread over the cluster: " + nodesWithKeys);
      } finally {
        redis.close();
        gw.close();
        fake.close().await();
      }
    }
  }

  private static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "gpt-fast").put("stream", stream).put("max_tokens", 20)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hello!")));
  }
}
