package ai.gpt.api.metering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.config.ClusterMasters;
import ai.gpt.api.config.RedisClients;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.RedisServers;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The metered path on a real Redis Cluster: three masters started on loopback by the test (Debian's redis-server
 * with cluster-enabled, joined by redis-cli --cluster create), the gateway given all three as REDIS_URL. Admission,
 * settlement, the usage writer and the hot balances must work as on a single Redis, with the organizations' keys
 * (tagged by organization) spread over every master, and the outbox sweep must find outboxes on every master.
 */
@ExtendWith(VertxExtension.class)
class RedisClusterTest {
  private static final int ORGS = 64;
  private static final int REQUESTS_PER_ORG = 4;

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
        Map<String, Long> duplicated = new HashMap<>();
        for (var row : gw.pool().query("SELECT request_id, count(*) FROM usage GROUP BY request_id HAVING count(*) > 1")
            .execute().await()) {
          duplicated.put(row.getString(0), row.getLong(1));
        }
        assertEquals(Map.of(), duplicated, "every usage row exactly once");
        ClusterMasters masters = new ClusterMasters(vertx, redis, cluster.urls().get(0));
        assertEquals(3, masters.masters().await().size(), "the sweep sees the three masters");
        GatewayHarness.awaitTrue("the outboxes to empty", () -> outboxes(masters).isEmpty());

        // Each master holds some organization's metering keys (the 16 shard streams hold only 16 slots).
        for (int port : cluster.ports()) {
          long orgKeys = 0;
          for (long org : keyOfOrg.keySet()) {
            int slot = Integer.parseInt(cluster.cli(port, "CLUSTER", "KEYSLOT", RedisKeys.balance(org)).trim());
            orgKeys += Long.parseLong(cluster.cli(port, "CLUSTER", "COUNTKEYSINSLOT", String.valueOf(slot)).trim());
          }
          assertTrue(orgKeys > 0, "master on port " + port + " holds organizations' keys");
        }

        // The outbox sweep finds outboxes on every master: a SCAN per master, through ClusterMasters.
        List<Long> parked = new ArrayList<>();
        for (long org = 900_001; org <= 900_012; org++) {
          parked.add(org);
          redis.send(Request.cmd(Command.XADD).arg(RedisKeys.outbox(org)).arg("*").arg("request_id").arg("x" + org))
              .await();
        }
        Set<Integer> mastersOfParked = new HashSet<>();
        for (long org : parked) {
          for (int port : cluster.ports()) {
            if (cluster.cli(port, "EXISTS", RedisKeys.outbox(org)).trim().equals("1")) {
              mastersOfParked.add(port);
            }
          }
        }
        assertEquals(3, mastersOfParked.size(), "the parked outboxes are on every master");
        assertEquals(Set.copyOf(parked), outboxes(masters), "every outbox found, on whichever master");
        for (long org : parked) {
          redis.send(Request.cmd(Command.DEL).arg(RedisKeys.outbox(org))).await();
        }
        masters.close();
      } finally {
        redis.close();
        gw.close();
        fake.close().await();
      }
    }
  }

  @Test
  @DisplayName("on a Redis Cluster the counters one call counts together (sign-in, e-mail) share a slot: sign-up, "
      + "sign-in and a wrong password are answered, never CROSSSLOT")
  void accountLimitsOnCluster(Vertx vertx) throws Exception {
    try (RedisServers cluster = RedisServers.cluster(3);
        ApiClient api = ApiClient.start(vertx, Map.of("REDIS_URL", String.join(",", cluster.urls())))) {
      String email = "cluster@example.com";
      assertNotNull(api.signUpAndSignIn(email), "sign-up (mail limits) and sign-in (sign-in limits) on the cluster");
      HttpResponse<Buffer> wrong = api.call(HttpMethod.POST, "/api/auth/signin", null,
          new JsonObject().put("email", email).put("password", "not the password"));
      assertEquals(401, wrong.statusCode(), wrong.bodyAsString());
      assertEquals("invalid_credentials", ApiClient.code(wrong));
    }
  }

  /** The organizations whose outbox exists, by a SCAN of every master as the usage writer's sweep does. */
  private static Set<Long> outboxes(ClusterMasters masters) {
    Set<Long> orgs = new HashSet<>();
    for (Redis node : masters.masters().await()) {
      String cursor = "0";
      do {
        Response r = node.send(Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(RedisKeys.OUTBOX_PATTERN)
            .arg("COUNT").arg(1000).arg("TYPE").arg("stream")).await();
        cursor = r.get(0).toString();
        r.get(1).forEach(k -> orgs.add(RedisKeys.orgOfOutbox(k.toString())));
      } while (!"0".equals(cursor));
    }
    return orgs;
  }

  private static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "gpt-fast").put("stream", stream).put("max_tokens", 20)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hello!")));
  }
}
