package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A client that leaves while its request waits in the queue for a slot: the request leaves the queue and settles at
 * once (499, nothing charged), giving back its hold and its concurrency lease, not when a slot frees much later.
 */
@ExtendWith(VertxExtension.class)
class QueuedClientLeavesTest {
  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private HttpClient raw;

  @AfterEach
  void tearDown() {
    if (raw != null) {
      raw.close().await();
    }
    if (gw != null) {
      gw.close();
    }
    if (fake != null) {
      fake.close().await();
    }
  }

  @Test
  @DisplayName("a client gone while queued for a slot: settled at once, its hold released")
  void queuedClientSettlesAtOnce(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(1).tokenDelayMs(200)).await();
    gw.addBackend("gpt-fast", fake);
    String key = gw.createKey(gw.createOrg("queued"), null);
    long org = gw.orgOf(key);
    raw = vertx.createHttpClient();

    HttpClientRequest running = open(key);
    running.send(body(60)); // 12 s on the only slot
    GatewayHarness.awaitTrue("the first request holds", () -> holds().equals("1.0"));
    HttpClientRequest queued = open(key);
    queued.send(body(5));
    GatewayHarness.awaitTrue("the second request queued", () -> holds().equals("2.0"));

    queued.reset();
    GatewayHarness.awaitTrue("the queued request settled", 3_000, () -> holds().equals("1.0"));
    GatewayHarness.awaitTrue("its usage row", 3_000, () -> gw.pool().preparedQuery(
        "SELECT count(*) FROM usage WHERE org_id = $1 AND status = 499").execute(Tuple.of(org)).await().iterator()
        .next().getLong(0) == 1);
    assertEquals(0L, gw.pool().preparedQuery("SELECT COALESCE(SUM(cost_micros), 0) FROM usage WHERE org_id = $1")
        .execute(Tuple.of(org)).await().iterator().next().getLong(0));
    running.reset();
  }

  private HttpClientRequest open(String key) {
    return raw.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(gw.port())
        .setURI("/v1/chat/completions").putHeader("authorization", "Bearer " + key)
        .putHeader("content-type", "application/json")).await();
  }

  private static io.vertx.core.buffer.Buffer body(int maxTokens) {
    return new JsonObject().put("model", "gpt-fast").put("stream", true).put("max_tokens", maxTokens)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hi"))).toBuffer();
  }

  private String holds() {
    return gw.metrics().lines().filter(l -> l.startsWith("gptapi_holds_outstanding "))
        .map(l -> l.substring("gptapi_holds_outstanding ".length())).findFirst().orElse("");
  }
}
