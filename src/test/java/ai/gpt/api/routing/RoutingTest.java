package ai.gpt.api.routing;

import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class RoutingTest {
  private final List<FakeLlamaServer> fakes = new ArrayList<>();
  private GatewayHarness gw;

  private FakeLlamaServer fake(Vertx vertx, FakeLlamaServer.Options options) {
    FakeLlamaServer f = FakeLlamaServer.start(vertx, options).await();
    fakes.add(f);
    return f;
  }

  @AfterEach
  void tearDown() {
    if (gw != null) {
      gw.close();
    }
    fakes.forEach(f -> f.close().await());
  }

  private List<HttpResponse<Buffer>> concurrently(int n, String key, int maxTokens) {
    List<Future<HttpResponse<Buffer>>> all = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      all.add(gw.client().post("/v1/chat/completions").bearerTokenAuthentication(key)
          .sendJsonObject(chat("gpt-fast").put("max_tokens", maxTokens)));
    }
    Future.join(all).await();
    return all.stream().map(Future::result).toList();
  }

  @Test
  @DisplayName("least-loaded: a slow backend gets measurably fewer requests than a fast one")
  void slowBackendGetsFewer(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    FakeLlamaServer fast = fake(vertx, new FakeLlamaServer.Options().slots(8).tokenDelayMs(1));
    FakeLlamaServer slow = fake(vertx, new FakeLlamaServer.Options().slots(8).tokenDelayMs(40));
    gw.addBackend("gpt-fast", fast);
    gw.addBackend("gpt-fast", slow);
    String key = gw.createKey();
    for (int round = 0; round < 6; round++) {
      concurrently(12, key, 4).forEach(r -> assertEquals(200, r.statusCode()));
    }
    assertEquals(72, fast.requestCount() + slow.requestCount());
    assertTrue(fast.requestCount() > 2 * slow.requestCount(),
        "fast " + fast.requestCount() + " vs slow " + slow.requestCount());
  }

  @Test
  @DisplayName("failover: requests to a dead backend are retried on a live one and the dead one is quarantined")
  void failoverAndQuarantine(Vertx vertx) {
    gw = GatewayHarness.start(vertx, Map.of("HEALTH_INTERVAL_MS", "60000"));
    FakeLlamaServer good = fake(vertx, new FakeLlamaServer.Options());
    FakeLlamaServer bad = fake(vertx, new FakeLlamaServer.Options());
    long badId = gw.addBackend("gpt-fast", bad);
    gw.addBackend("gpt-fast", good);
    bad.setHealth(FakeLlamaServer.Health.FAIL);
    String key = gw.createKey();
    for (int i = 0; i < 20; i++) {
      HttpResponse<Buffer> resp = gw.post("/v1/chat/completions", key, chat("gpt-fast").put("max_tokens", 2));
      assertEquals(200, resp.statusCode(), resp.bodyAsString());
    }
    assertEquals(20, good.requestCount());
    assertTrue(bad.requestCount() <= 1, "quarantined after its first failure: " + bad.requestCount());
    assertTrue(!gw.backendHealthy(badId));
    assertTrue(gw.metrics().contains("gptapi_upstream_retries_total{model=\"gpt-fast\"}"));
  }

  @Test
  @DisplayName("a quarantined backend comes back when its health check passes; a loading one gets no traffic")
  void recoveryAndLoading(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    FakeLlamaServer only = fake(vertx, new FakeLlamaServer.Options());
    long id = gw.addBackend("gpt-fast", only);
    String key = gw.createKey();
    only.setHealth(FakeLlamaServer.Health.LOADING);
    GatewayHarness.awaitTrue("loading seen", () -> !gw.backendHealthy(id));
    HttpResponse<Buffer> resp = gw.post("/v1/chat/completions", key, chat("gpt-fast"));
    assertEquals(503, resp.statusCode());
    assertEquals(0, only.requestCount(), "a loading backend gets no traffic");

    only.setHealth(FakeLlamaServer.Health.OK);
    GatewayHarness.awaitTrue("loaded", () -> gw.backendHealthy(id));

    only.setHealth(FakeLlamaServer.Health.FAIL);
    GatewayHarness.awaitTrue("quarantined", () -> !gw.backendHealthy(id));
    assertEquals(503, gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode());
    only.setHealth(FakeLlamaServer.Health.OK);
    GatewayHarness.awaitTrue("recovered", () -> gw.backendHealthy(id));
    assertEquals(200, gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode());
  }

  @Test
  @DisplayName("upstream 500 before the first byte is retried at most twice, then surfaced")
  void retryLimit(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    FakeLlamaServer a = fake(vertx, new FakeLlamaServer.Options());
    FakeLlamaServer b = fake(vertx, new FakeLlamaServer.Options());
    FakeLlamaServer c = fake(vertx, new FakeLlamaServer.Options());
    FakeLlamaServer d = fake(vertx, new FakeLlamaServer.Options());
    for (FakeLlamaServer f : List.of(a, b, c, d)) {
      gw.addBackend("gpt-fast", f);
      f.setHealth(FakeLlamaServer.Health.ERROR_500);
    }
    HttpResponse<Buffer> resp = gw.post("/v1/chat/completions", gw.createKey(), chat("gpt-fast"));
    assertEquals(500, resp.statusCode(), resp.bodyAsString());
    assertEquals("server_error", resp.bodyAsJsonObject().getJsonObject("error").getString("type"));
    assertEquals(3, a.requestCount() + b.requestCount() + c.requestCount() + d.requestCount(),
        "one attempt plus two retries, each on a different backend");
  }

  @Test
  @DisplayName("when every slot is busy requests queue; overflow gets 503 overloaded with Retry-After")
  void queueOverflow(Vertx vertx) {
    gw = GatewayHarness.start(vertx, Map.of("QUEUE_SIZE", "2", "QUEUE_TIMEOUT_MS", "5000"));
    FakeLlamaServer one = fake(vertx, new FakeLlamaServer.Options().slots(1).tokenDelayMs(50));
    gw.addBackend("gpt-fast", one);
    List<HttpResponse<Buffer>> results = concurrently(5, gw.createKey(), 4);
    long ok = results.stream().filter(r -> r.statusCode() == 200).count();
    List<HttpResponse<Buffer>> rejected = results.stream().filter(r -> r.statusCode() == 503).toList();
    assertEquals(3, ok, "one running plus two queued");
    assertEquals(2, rejected.size());
    rejected.forEach(r -> {
      assertEquals("overloaded", r.bodyAsJsonObject().getJsonObject("error").getString("code"));
      assertTrue(r.getHeader("retry-after") != null);
    });
    assertEquals(3, one.requestCount());
  }

  @Test
  @DisplayName("a queued request that waits past the timeout gets 503 overloaded")
  void queueTimeout(Vertx vertx) {
    gw = GatewayHarness.start(vertx, Map.of("QUEUE_SIZE", "10", "QUEUE_TIMEOUT_MS", "100"));
    FakeLlamaServer one = fake(vertx, new FakeLlamaServer.Options().slots(1).tokenDelayMs(100));
    gw.addBackend("gpt-fast", one);
    List<HttpResponse<Buffer>> results = concurrently(2, gw.createKey(), 5);
    assertEquals(1, results.stream().filter(r -> r.statusCode() == 200).count());
    assertEquals(1, results.stream().filter(r -> r.statusCode() == 503).count());
  }

  @Test
  @DisplayName("a client that disconnects mid-stream closes the upstream request at once")
  void clientDisconnectClosesUpstream(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    FakeLlamaServer slow = fake(vertx, new FakeLlamaServer.Options().tokenDelayMs(50));
    gw.addBackend("gpt-fast", slow);
    String key = gw.createKey();
    HttpClient raw = vertx.createHttpClient();
    var request = raw.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
        .setPort(gw.port()).setURI("/v1/chat/completions")
        .putHeader("authorization", "Bearer " + key).putHeader("content-type", "application/json")).await();
    var response = request.send(chat("gpt-fast").put("stream", true).put("max_tokens", 200).toBuffer()).await();
    assertEquals(200, response.statusCode());
    GatewayHarness.awaitTrue("first tokens", () -> slow.inFlight() == 1);
    request.connection().close().await();
    GatewayHarness.awaitTrue("upstream cancelled", () -> slow.cancelledCount() == 1 && slow.inFlight() == 0);
    raw.close();
  }

  @Test
  @DisplayName("backend add and drain take effect live, without a restart")
  void liveAddAndDrain(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    String key = gw.createKey();
    assertEquals(503, gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode());
    FakeLlamaServer first = fake(vertx, new FakeLlamaServer.Options());
    long firstId = gw.addBackend("gpt-fast", first);
    assertEquals(200, gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode());

    FakeLlamaServer second = fake(vertx, new FakeLlamaServer.Options());
    gw.addBackend("gpt-fast", second);
    gw.setBackendState(firstId, "draining");
    // One request missing the first backend proves nothing (it may have picked the second anyway): wait for eight.
    GatewayHarness.awaitTrue("drain applied", () -> {
      int before = first.requestCount();
      for (int i = 0; i < 8; i++) {
        gw.post("/v1/chat/completions", key, chat("gpt-fast"));
      }
      return first.requestCount() == before;
    });
    int firstCount = first.requestCount();
    for (int i = 0; i < 10; i++) {
      assertEquals(200, gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode());
    }
    assertEquals(firstCount, first.requestCount(), "a draining backend gets no new requests");
  }

  @Test
  @DisplayName("backends started with --api-key get the Authorization header")
  void backendApiKey(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    FakeLlamaServer secured = fake(vertx, new FakeLlamaServer.Options().apiKey("backend-secret"));
    gw.addBackend("gpt-fast", secured.baseUrl(), 4, "backend-secret");
    assertEquals(200, gw.post("/v1/chat/completions", gw.createKey(), chat("gpt-fast")).statusCode());
    assertEquals("Bearer backend-secret", secured.lastRequestHeaders().get("authorization"));
  }
}
