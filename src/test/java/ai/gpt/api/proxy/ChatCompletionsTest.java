package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class ChatCompletionsTest {
  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private String key;

  @BeforeEach
  void setUp(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    gw.addBackend("gpt-fast", fake);
    key = gw.createKey();
  }

  @AfterEach
  void tearDown() {
    gw.close();
    fake.close().await();
  }

  static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "gpt-fast").put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hello there")));
  }

  @Test
  @DisplayName("non-stream chat returns llama.cpp's answer with usage and timings, and an x-request-id")
  void nonStream() {
    HttpResponse<Buffer> resp = gw.post("/v1/chat/completions", key, chat(false).put("max_tokens", 5));
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    JsonObject body = resp.bodyAsJsonObject();
    assertEquals("chat.completion", body.getString("object"));
    assertEquals(5, body.getJsonObject("usage").getInteger("completion_tokens"));
    assertCost(body.getJsonObject("usage"));
    assertTrue(resp.bodyAsString().matches("(?s).*\"cost\":0\\.\\d{6}[,}].*"), "cost is a plain decimal");
    assertNotNull(body.getJsonObject("timings"), "llama.cpp's extra fields pass through");
    assertEquals(FakeLlamaServer.expectedContent(5),
        body.getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content"));
    assertTrue(resp.getHeader("x-request-id").startsWith("req_"));
    assertEquals(resp.getHeader("x-request-id"), fake.lastRequestHeaders().get("x-request-id"));
  }

  @Test
  @DisplayName("max_tokens: the model default applies when absent and the model maximum caps it")
  void maxTokensDefaultAndCap() {
    gw.post("/v1/chat/completions", key, chat(false));
    assertEquals(1024, fake.lastRequestBody().getInteger("max_tokens"));
    gw.post("/v1/chat/completions", key, chat(false).put("max_tokens", 1_000_000));
    assertEquals(16384, fake.lastRequestBody().getInteger("max_tokens"));
    gw.post("/v1/chat/completions", key, chat(false).put("max_completion_tokens", 7));
    for (String alias : new String[] {"max_tokens", "max_completion_tokens", "n_predict"}) {
      assertEquals(7, fake.lastRequestBody().getInteger(alias), "every field llama.cpp reads holds the budget");
    }
  }

  @Test
  @DisplayName("reviewed llama.cpp extensions reach llama.cpp untouched; fields nobody reviewed are dropped")
  void extensionsPassUnknownFieldsDropped() {
    JsonObject extra = new JsonObject().put("mirostat", 2).put("grammar", "root ::= \"x\"")
        .put("samplers", new JsonArray().add("top_k").add("temperature"));
    JsonObject body = chat(false).put("max_tokens", 3)
        .put("nested", new JsonObject().put("a", new JsonArray().add(1).add("b")));
    extra.forEach(e -> body.put(e.getKey(), e.getValue()));
    assertEquals(200, gw.post("/v1/chat/completions", key, body).statusCode());
    JsonObject seen = fake.lastRequestBody();
    extra.forEach(e -> assertEquals(e.getValue(), seen.getValue(e.getKey()), e.getKey()));
    assertEquals(body.getJsonArray("messages"), seen.getJsonArray("messages"));
    assertFalse(seen.containsKey("nested"), "an unknown field is not forwarded");
  }

  @Test
  @DisplayName("stream without include_usage: every event relayed byte for byte except the usage chunk")
  void streamWithoutUsage() {
    HttpResponse<Buffer> resp = gw.post("/v1/chat/completions", key, chat(true).put("max_tokens", 4));
    assertEquals(200, resp.statusCode());
    assertTrue(resp.getHeader("content-type").startsWith("text/event-stream"));
    JsonObject upstreamAsked = fake.lastRequestBody();
    assertEquals(true, upstreamAsked.getJsonObject("stream_options").getBoolean("include_usage"),
        "the gateway always asks llama.cpp for usage");
    List<String> events = events(resp.bodyAsString());
    assertEquals("data: [DONE]", events.get(events.size() - 1));
    assertTrue(events.stream().noneMatch(e -> e.contains("\"usage\"")), "usage chunk stripped");
    String content = events.stream().filter(e -> e.startsWith("data: {"))
        .map(e -> new JsonObject(e.substring(6)).getJsonArray("choices"))
        .filter(c -> !c.isEmpty())
        .map(c -> c.getJsonObject(0).getJsonObject("delta").getString("content"))
        .filter(s -> s != null).collect(Collectors.joining());
    assertEquals(FakeLlamaServer.expectedContent(4), content);
    assertTrue(gw.metrics().contains("gptapi_tokens_total{kind=\"completion\",model=\"gpt-fast\"} 4.0"),
        "usage recorded even though the client did not ask for it");
  }

  @Test
  @DisplayName("stream with include_usage: the client gets exactly llama.cpp's bytes, usage chunk included")
  void streamWithUsageIsByteFaithful(Vertx vertx) {
    JsonObject body = chat(true).put("max_tokens", 6)
        .put("stream_options", new JsonObject().put("include_usage", true));
    HttpResponse<Buffer> viaGateway = gw.post("/v1/chat/completions", key, body);
    // The same request straight to the backend, for comparison; ids and timings differ per response.
    var direct = io.vertx.ext.web.client.WebClient.create(vertx)
        .postAbs(fake.baseUrl() + "/v1/chat/completions").sendJsonObject(fake.lastRequestBody()).await();
    List<String> expected = events(normalize(direct.bodyAsString()));
    List<String> events = events(normalize(viaGateway.bodyAsString()));
    assertEquals(expected.size(), events.size());
    int usageAt = events.size() - 2;
    assertEquals(expected.subList(0, usageAt), events.subList(0, usageAt), "content events byte for byte");
    assertEquals(expected.get(usageAt + 1), events.get(usageAt + 1));
    // The usage chunk is llama.cpp's plus the request's cost in USD, as OpenRouter reports it.
    JsonObject usageChunk = new JsonObject(events.get(usageAt).substring(6));
    JsonObject usage = usageChunk.getJsonObject("usage");
    assertTrue(usageChunk.getJsonArray("choices").isEmpty());
    assertEquals(6, usage.getInteger("completion_tokens"));
    assertCost(usage);
    usage.remove("cost");
    assertEquals(new JsonObject(expected.get(usageAt).substring(6)), usageChunk);
  }

  /** usage.cost is exact for gpt-fast: $0.25 per 1M prompt tokens, $0.50 per 1M completion tokens. */
  static void assertCost(JsonObject usage) {
    java.math.BigDecimal expected = ai.gpt.api.billing.Money.toUsd(ai.gpt.api.billing.Money.requestCost(
        usage.getLong("prompt_tokens"), usage.getLong("completion_tokens"), 250_000, 500_000));
    java.math.BigDecimal actual = new java.math.BigDecimal(usage.getValue("cost").toString());
    assertEquals(0, expected.compareTo(actual), "cost " + actual + ", expected " + expected);
  }

  @Test
  @DisplayName("many streams in a row survive llama.cpp closing the connection after each one")
  void streamsSurviveConnectionClose() {
    for (int i = 0; i < 30; i++) {
      HttpResponse<Buffer> resp = gw.post("/v1/chat/completions", key, chat(i % 2 == 0).put("max_tokens", 2));
      assertEquals(200, resp.statusCode(), "request " + i + ": " + resp.bodyAsString());
    }
    assertEquals(30, fake.requestCount());
  }

  @Test
  @DisplayName("a backend dying mid-stream ends the client's stream with an SSE error event")
  void backendDiesMidStream(Vertx vertx) {
    FakeLlamaServer dying = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().tokenDelayMs(30)).await();
    gw.setBackendState(1, "draining");
    gw.addBackend("gpt-fast", dying);
    var pending = gw.client().post("/v1/chat/completions").bearerTokenAuthentication(key)
        .sendJsonObject(chat(true).put("max_tokens", 100));
    GatewayHarness.awaitTrue("stream started", () -> dying.inFlight() == 1);
    dying.close().await();
    HttpResponse<Buffer> resp = pending.await();
    assertEquals(200, resp.statusCode());
    List<String> events = events(resp.bodyAsString());
    String last = events.get(events.size() - 1);
    assertTrue(last.startsWith("data: {\"error\""), last);
    assertEquals("upstream_error", new JsonObject(last.substring(6)).getJsonObject("error").getString("code"));
  }

  static List<String> events(String sse) {
    return Arrays.stream(sse.split("\n\n")).filter(s -> !s.isBlank()).toList();
  }

  /** Replaces the per-response parts (id, created, timings) so two answers can be compared byte for byte. */
  static String normalize(String sse) {
    return sse.replaceAll("\"id\":\"[^\"]*\"", "\"id\":\"X\"")
        .replaceAll("\"created\":\\d+", "\"created\":0")
        .replaceAll("\"timings\":\\{[^}]*\\}", "\"timings\":{}");
  }
}
