package ai.gpt.api.proxy;

import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class RequestValidationTest {
  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private String key;

  @BeforeEach
  void setUp(Vertx vertx) {
    gw = GatewayHarness.start(vertx, Map.of("MAX_BODY_BYTES", "2048"));
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    gw.addBackend("gpt-fast", fake);
    key = gw.createKey();
  }

  @AfterEach
  void tearDown() {
    gw.close();
    fake.close().await();
  }

  private HttpResponse<Buffer> raw(String body) {
    return gw.client().post("/v1/chat/completions").bearerTokenAuthentication(key)
        .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(body)).await();
  }

  static void assertError(HttpResponse<Buffer> resp, int status, String param, String code) {
    assertEquals(status, resp.statusCode(), resp.bodyAsString());
    JsonObject error = resp.bodyAsJsonObject().getJsonObject("error");
    assertEquals(param, error.getString("param"), resp.bodyAsString());
    assertEquals(code, error.getString("code"), resp.bodyAsString());
    assertNotNull(error.getString("message"));
    assertNotNull(error.getString("type"));
  }

  @Test
  @DisplayName("invalid JSON, a non-object body and an empty body get 400 invalid_json")
  void invalidJson() {
    assertError(raw("{not json"), 400, null, "invalid_json");
    assertError(raw("[1,2]"), 400, null, "invalid_json");
    assertError(raw(""), 400, null, "invalid_json");
  }

  @Test
  @DisplayName("wrong types get 400 naming the parameter")
  void wrongTypes() {
    assertError(gw.post("/v1/chat/completions", key, chat("gpt-fast").put("max_tokens", "ten")), 400, "max_tokens", null);
    assertError(gw.post("/v1/chat/completions", key, chat("gpt-fast").put("max_tokens", 0)), 400, "max_tokens", null);
    assertError(gw.post("/v1/chat/completions", key, chat("gpt-fast").put("stream", "yes")), 400, "stream", null);
    assertError(gw.post("/v1/chat/completions", key, chat("gpt-fast").put("messages", "hi")), 400, "messages", null);
    assertError(gw.post("/v1/chat/completions", key, chat("gpt-fast").put("model", 7)), 400, "model", null);
    assertError(gw.post("/v1/chat/completions", key, chat("gpt-fast").put("stream", true)
        .put("stream_options", "x")), 400, "stream_options", null);
    assertError(gw.post("/v1/chat/completions", key, new JsonObject().put("model", "gpt-fast")), 400, "messages", null);
    assertError(gw.post("/v1/chat/completions", key, new JsonObject().put("messages", chat("x").getJsonArray("messages"))),
        400, "model", null);
    assertError(gw.post("/v1/completions", key, new JsonObject().put("model", "gpt-fast")), 400, "prompt", null);
    assertError(gw.post("/v1/embeddings", key, new JsonObject().put("model", "embed").put("input", 5)), 400, "input", null);
    assertError(gw.post("/v1/embeddings", key, new JsonObject().put("model", "gpt-fast").put("input", "x")), 400, "model", null);
    assertEquals(0, fake.requestCount(), "invalid requests never reach a backend");
  }

  @Test
  @DisplayName("an unknown model gets 404 model_not_found")
  void unknownModel() {
    assertError(gw.post("/v1/chat/completions", key, chat("gpt-7")), 404, "model", "model_not_found");
    assertError(gw.get("/v1/models/gpt-7", key), 404, "model", "model_not_found");
  }

  @Test
  @DisplayName("a body over the limit gets 413")
  void bodyTooLarge() {
    assertError(raw("{\"model\":\"gpt-fast\",\"pad\":\"" + "x".repeat(4000) + "\"}"), 413, null, "request_too_large");
  }

  @Test
  @DisplayName("a model with no backend gets 503 with Retry-After")
  void noBackend() {
    HttpResponse<Buffer> resp = gw.post("/v1/chat/completions", key, chat("gpt-full"));
    assertError(resp, 503, null, "model_unavailable");
    assertNotNull(resp.getHeader("retry-after"));
  }

  @Test
  @DisplayName("unknown /v1 paths get an OpenAI-shaped 404; the web app answers other paths")
  void unknownPath() {
    assertError(gw.get("/v1/nothing", key), 404, null, "not_found");
    HttpResponse<Buffer> page = gw.get("/dashboard/keys", null);
    assertEquals(200, page.statusCode());
    assertEquals(true, page.bodyAsString().contains("<title>GPT API</title>"));
    assertEquals(true, page.getHeader("content-security-policy").contains("frame-ancestors 'none'"));
    assertEquals("nosniff", page.getHeader("x-content-type-options"));
    assertEquals("DENY", page.getHeader("x-frame-options"));
  }
}
