package ai.gpt.api.http;

import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

@ExtendWith(VertxExtension.class)
class OperationsTest {
  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private final ListAppender<ILoggingEvent> accessLines = new ListAppender<>();
  private final Logger accessLogger = (Logger) LoggerFactory.getLogger("access");

  @BeforeEach
  void setUp(Vertx vertx) {
    accessLines.start();
    accessLogger.addAppender(accessLines);
    gw = GatewayHarness.start(vertx, Map.of("LOG_FORMAT", "json"));
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    gw.addBackend("gpt-fast", fake);
  }

  @AfterEach
  void tearDown() {
    accessLogger.detachAppender(accessLines);
    gw.close();
    fake.close().await();
  }

  @Test
  @DisplayName("/health and /ready answer on the metrics port; /metrics exports requests, overhead and backend gauges")
  void operatorEndpoints(Vertx vertx) {
    WebClient ops = WebClient.create(vertx);
    assertEquals(200, ops.get(gw.metricsPort(), "127.0.0.1", "/health").send().await().statusCode());
    var ready = ops.get(gw.metricsPort(), "127.0.0.1", "/ready").send().await();
    assertEquals(200, ready.statusCode());
    assertEquals("ok", ready.bodyAsJsonObject().getString("postgres"));
    assertEquals("ok", ready.bodyAsJsonObject().getString("redis"));

    String key = gw.createKey();
    assertEquals(200, gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode());
    assertEquals(404, gw.post("/v1/chat/completions", key, chat("nope")).statusCode());
    String metrics = gw.metrics();
    for (String expected : List.of(
        "gptapi_requests_total{endpoint=\"/v1/chat/completions\",model=\"gpt-fast\",status=\"200\"} 1.0",
        "gptapi_gateway_overhead_seconds_bucket",
        "gptapi_upstream_ttfb_seconds_count{model=\"gpt-fast\"} 1",
        "gptapi_backend_in_flight{",
        "gptapi_backend_slots{")) {
      assertTrue(metrics.contains(expected), "missing " + expected);
    }
    ops.close();
  }

  @Test
  @DisplayName("the access log writes one JSON line per request with ids and timings, never the key secret or prompt")
  void accessLog() {
    String key = gw.createKey();
    var resp = gw.post("/v1/chat/completions", key, chat("gpt-fast").put("max_tokens", 2)
        .put("messages", new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "user")
            .put("content", "my secret prompt"))));
    assertEquals(200, resp.statusCode());
    GatewayHarness.awaitTrue("access line", () -> accessLines.list.stream()
        .anyMatch(e -> e.getFormattedMessage().contains(resp.getHeader("x-request-id"))));
    String line = accessLines.list.stream().map(ILoggingEvent::getFormattedMessage)
        .filter(m -> m.contains(resp.getHeader("x-request-id"))).findFirst().orElseThrow();
    JsonObject json = new JsonObject(line);
    assertEquals(200, json.getInteger("status"));
    assertEquals("gpt-fast", json.getString("model"));
    assertEquals(key.substring(9, 21), json.getString("key"));
    assertEquals(1L, json.getLong("backend"));
    assertTrue(json.getDouble("total_ms") >= json.getDouble("upstream_ms"));
    assertFalse(line.contains(key.substring(22)), "no secret");
    assertFalse(line.contains("secret prompt"), "no prompt");
  }

  @Test
  @DisplayName("the text access log (the default) has the JSON line's fields in the same order, absent ones left out")
  void textAccessLog(Vertx vertx) {
    GatewayHarness text = GatewayHarness.start(vertx, Map.of("LOG_FORMAT", "text"));
    try {
      text.addBackend("gpt-fast", fake);
      String key = text.createKey();
      var served = text.post("/v1/chat/completions", key, chat("gpt-fast").put("max_tokens", 2));
      var unknown = text.post("/v1/nothing", null, new JsonObject());
      assertEquals(200, served.statusCode());
      assertEquals(404, unknown.statusCode());
      String number = "[0-9]+\\.[0-9]+(E-?[0-9]+)?";
      assertTrue(line(served.getHeader("x-request-id")).matches("ts=20[0-9-]{8}T[0-9:.]+Z request_id=req_[0-9a-f]{32} "
          + "method=POST path=/v1/chat/completions status=200 org_id=[0-9]+ key=" + key.substring(9, 21)
          + " model=gpt-fast backend=[0-9]+ attempts=1 total_ms=" + number + " upstream_ms=" + number
          + " ttfb_ms=" + number), line(served.getHeader("x-request-id")));
      assertTrue(line(unknown.getHeader("x-request-id")).matches("ts=\\S+ request_id=req_[0-9a-f]{32} method=POST "
          + "path=/v1/nothing status=404 total_ms=" + number), line(unknown.getHeader("x-request-id")));
    } finally {
      text.close();
    }
  }

  private String line(String requestId) {
    GatewayHarness.awaitTrue("access line", () -> accessLines.list.stream()
        .anyMatch(e -> e.getFormattedMessage().contains(requestId)));
    return accessLines.list.stream().map(ILoggingEvent::getFormattedMessage)
        .filter(m -> m.contains(requestId)).findFirst().orElseThrow();
  }

  @Test
  @DisplayName("backend credentials (userinfo, query token, api_key) reach no metric label and no log line")
  void noBackendCredentialsInMetricsOrLogs(Vertx vertx) {
    ListAppender<ILoggingEvent> all = new ListAppender<>();
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    all.start();
    root.addAppender(all);
    try {
      FakeLlamaServer secured = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().apiKey("sk-backend-key"))
          .await();
      long id = gw.addBackend("gpt-full", "http://admin:s3cr3t-pw@127.0.0.1:" + secured.port() + "/?token=t0ken", 4,
          "sk-backend-key");
      String key = gw.createKey();
      assertEquals(200, gw.post("/v1/chat/completions", key, chat("gpt-full")).statusCode());
      String metrics = gw.metrics();
      assertTrue(metrics.contains("gptapi_backend_healthy{backend=\"" + id + "\""), metrics);
      secured.close().await();
      GatewayHarness.awaitTrue("the stopped backend logged", () -> all.list.stream()
          .anyMatch(e -> e.getFormattedMessage().contains("backend " + id + " (gpt-full")));
      for (String secret : List.of("s3cr3t", "t0ken", "sk-backend-key", "admin:")) {
        assertFalse(metrics.contains(secret), secret + " in a metric");
        assertTrue(all.list.stream().noneMatch(e -> e.getFormattedMessage().contains(secret)), secret + " logged");
      }
    } finally {
      root.detachAppender(all);
    }
  }
}
