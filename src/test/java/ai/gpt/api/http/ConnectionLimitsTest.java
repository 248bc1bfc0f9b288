package ai.gpt.api.http;

import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.RawHttp;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class ConnectionLimitsTest {
  private static final long DEADLINE_MS = 2_000;
  /** Scheduling slack on a busy CI machine. */
  private static final long SLACK_MS = 2_500;
  private static final String HALF_HEAD = "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n";
  private GatewayHarness gw;
  private FakeLlamaServer fake;

  @AfterEach
  void tearDown() {
    gw.close();
    fake.close().await();
  }

  private String start(Vertx vertx, Map<String, String> env, FakeLlamaServer.Options backend) {
    gw = GatewayHarness.start(vertx, env);
    fake = FakeLlamaServer.start(vertx, backend).await();
    gw.addBackend("gpt-fast", fake);
    return gw.createKey();
  }

  @Test
  @DisplayName("half-sent requests are cut at their deadline (a trickle does not help); above the cap new connections "
      + "get 503 while /health and a kept-alive chat still work")
  void halfSentConnectionsAreCutAndCapped(Vertx vertx) throws IOException {
    int cap = 40;
    String key = start(vertx, Map.of("MAX_CONNECTIONS", String.valueOf(cap),
        "HTTP_HEADER_TIMEOUT_MS", String.valueOf(DEADLINE_MS), "HTTP_BODY_TIMEOUT_MS", String.valueOf(DEADLINE_MS),
        "HTTP_KEEPALIVE_TIMEOUT_MS", "60000"), new FakeLlamaServer.Options());
    assertEquals(200, gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode()); // one kept-alive connection

    List<RawHttp> halfHeads = new ArrayList<>();
    List<RawHttp> halfBodies = new ArrayList<>();
    for (int i = 0; i < (cap - 1) / 2; i++) {
      halfHeads.add(RawHttp.connect(gw.port()).send(HALF_HEAD));
      halfBodies.add(RawHttp.connect(gw.port()).send(HALF_HEAD + "Authorization: Bearer " + key
          + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":"));
    }
    RawHttp slowloris = RawHttp.connect(gw.port()).send("P");
    GatewayHarness.awaitTrue("the cap reached", () -> gw.metrics().contains("gptapi_http_connections_open " + cap + ".0"));

    for (int i = 0; i < 5; i++) {
      RawHttp.Reply refused = RawHttp.exchange(gw.port(), "");
      assertEquals(503, refused.status(), refused.head());
      assertEquals("overloaded", refused.error().getString("code"));
      assertNotNull(refused.header("retry-after"));
      assertTrue(refused.closes());
      assertTrue(refused.header("x-request-id").startsWith("req_"));
    }
    WebClient ops = WebClient.create(vertx);
    assertEquals(200, ops.get(gw.metricsPort(), "127.0.0.1", "/health").send().await().statusCode());
    ops.close();
    assertEquals(200, gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode());

    // One byte every 200 ms: each would reset an idle timer, none moves the head deadline.
    String rest = "OST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nX-Slow: " + "s".repeat(200);
    int sent = 0;
    while (slowloris.available() == 0 && slowloris.ageMs() < DEADLINE_MS + SLACK_MS && sent < rest.length()) {
      slowloris.send(rest.substring(sent, ++sent));
      sleep(200);
    }
    long cutAfter = slowloris.ageMs();
    RawHttp.Reply slow = slowloris.readUntilClosed();
    assertEquals(408, slow.status(), slow.head());
    assertTrue(cutAfter < DEADLINE_MS + SLACK_MS, "slowloris cut after " + cutAfter + " ms");

    for (RawHttp http : halfHeads) {
      RawHttp.Reply reply = http.readUntilClosed();
      long age = http.ageMs();
      assertEquals(408, reply.status(), reply.head());
      assertEquals("request_timeout", reply.error().getString("code"));
      assertTrue(reply.closes());
      assertTrue(age >= DEADLINE_MS - 100 && age < DEADLINE_MS + 2 * SLACK_MS, "closed after " + age + " ms");
    }
    for (RawHttp http : halfBodies) {
      RawHttp.Reply reply = http.readUntilClosed();
      assertEquals(408, reply.status(), reply.head());
      assertTrue(reply.error().getString("message").contains("body"));
    }
    String metrics = gw.metrics();
    assertTrue(metrics.contains("gptapi_http_timeouts_total{kind=\"header\"} " + (halfHeads.size() + 1) + ".0"), metrics);
    assertTrue(metrics.contains("gptapi_http_timeouts_total{kind=\"body\"} " + halfBodies.size() + ".0"), metrics);
    assertTrue(metrics.contains("gptapi_http_connections_refused_total 5.0"), metrics);

    WebClient fresh = WebClient.create(vertx, new WebClientOptions().setDefaultPort(gw.port()));
    assertEquals(200, fresh.post("/v1/chat/completions").bearerTokenAuthentication(key)
        .sendJsonObject(chat("gpt-fast")).await().statusCode(), "new connections are accepted again");
    fresh.close();
  }

  @Test
  @DisplayName("a request waiting longer than every client deadline for a slow model is not cut; an idle kept-alive "
      + "connection is closed after the keep-alive timeout")
  void slowAnswersStayIdleConnectionsGo(Vertx vertx) {
    String key = start(vertx, Map.of("HTTP_HEADER_TIMEOUT_MS", "1000", "HTTP_BODY_TIMEOUT_MS", "1000",
        "HTTP_KEEPALIVE_TIMEOUT_MS", "1000"), new FakeLlamaServer.Options().tokenDelayMs(700));
    String body = chat("gpt-fast").put("max_tokens", 4).encode(); // 4 x 700 ms of silence before the answer
    try (RawHttp http = RawHttp.connect(gw.port())) {
      http.send("POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + key
          + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
      RawHttp.Reply answer = http.readResponse();
      assertEquals(200, answer.status(), answer.body());
      long answeredAt = http.ageMs();
      assertTrue(answeredAt >= 2_500, "the answer took " + answeredAt + " ms");
      RawHttp.Reply idle = http.readUntilClosed();
      long idleFor = http.ageMs() - answeredAt;
      assertEquals(0, idle.status(), "an idle connection is closed without an answer");
      assertTrue(idleFor >= 900 && idleFor < 1000 + SLACK_MS, "closed after " + idleFor + " ms idle");
    }
    JsonObject stream = chat("gpt-fast").put("max_tokens", 3).put("stream", true);
    var streamed = gw.post("/v1/chat/completions", key, stream);
    assertEquals(200, streamed.statusCode());
    assertTrue(streamed.bodyAsString().contains("[DONE]"), streamed.bodyAsString());
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms); // the JUnit thread
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
