package ai.gpt.api.proxy;

import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
import static ai.gpt.api.proxy.RequestValidationTest.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The gateway owns the output-token budget and the number of completions: what it holds for is what llama.cpp
 * (here the fake, which follows llama.cpp's precedence) can generate, whatever aliases the client sends.
 */
@ExtendWith(VertxExtension.class)
class GenerationParamsTest {
  /** gpt-fast's max_max_tokens in the seed catalog. */
  private static final int GPT_FAST_MAX = 16384;

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

  private HttpResponse<Buffer> chatWith(JsonObject extra) {
    return gw.post("/v1/chat/completions", key, chat("gpt-fast").mergeIn(extra));
  }

  /** The budget the gateway held for equals every limit field llama.cpp may read, and bounds what it billed. */
  private void assertBudget(HttpResponse<Buffer> resp, int held) {
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    JsonObject upstream = fake.lastRequestBody();
    assertEquals(held, upstream.getInteger("n_predict"), upstream.encode());
    assertEquals(held, upstream.getInteger("max_completion_tokens"), upstream.encode());
    assertEquals(held, upstream.getInteger("max_tokens"), upstream.encode());
    long billed = resp.bodyAsJsonObject().getJsonObject("usage").getLong("completion_tokens");
    assertTrue(billed <= held, "billed " + billed + " completion tokens, held for " + held);
  }

  @Test
  @DisplayName("n_predict cannot exceed the hold: max_tokens 1 with n_predict 50 is held and sent as 50 everywhere")
  void nPredictIsTheBudget() {
    // before: held for 1 (max_tokens), llama.cpp generated n_predict = 50 and the gateway billed 50
    assertBudget(chatWith(new JsonObject().put("max_tokens", 1).put("n_predict", 50)), 50);
    assertBudget(chatWith(new JsonObject().put("max_tokens", 1).put("max_completion_tokens", 3)), 3);
    assertBudget(chatWith(new JsonObject().put("n_predict", 1_000_000)), GPT_FAST_MAX);
    assertBudget(chatWith(new JsonObject()), 1024); // the model's default, sent in all three fields
    assertBudget(gw.post("/v1/completions", key, new JsonObject().put("model", "gpt-fast").put("prompt", "Hi")
        .put("max_tokens", 2).put("n_predict", 9)), 9);
  }

  @Test
  @DisplayName("a limit llama.cpp reads as 'no limit' or any non-positive or fractional limit is refused")
  void badLimits() {
    assertError(chatWith(new JsonObject().put("n_predict", -1)), 400, "n_predict", null);
    assertError(chatWith(new JsonObject().put("max_completion_tokens", 0)), 400, "max_completion_tokens", null);
    assertError(chatWith(new JsonObject().put("max_tokens", 1.5)), 400, "max_tokens", null);
    assertError(chatWith(new JsonObject().put("n_predict", 5).put("max_tokens", "x")), 400, "max_tokens", null);
    assertEquals(0, fake.requestCount());
  }

  @Test
  @DisplayName("several completions in one request (n, n_cmpl, best_of, a prompt array) are refused with 400 "
      + "naming the field; one of each passes")
  void oneCompletionPerRequest() {
    // before: each of these reached llama.cpp, which generated (and the gateway billed) 2 completions for one hold
    assertError(chatWith(new JsonObject().put("n", 2)), 400, "n", null);
    assertError(chatWith(new JsonObject().put("n", 1).put("n_cmpl", 2)), 400, "n_cmpl", null);
    assertError(gw.post("/v1/completions", key, new JsonObject().put("model", "gpt-fast").put("prompt", "Hi")
        .put("best_of", 2)), 400, "best_of", null);
    assertError(gw.post("/v1/completions", key, new JsonObject().put("model", "gpt-fast")
        .put("prompt", new JsonArray().add("a").add("b"))), 400, "prompt", null);
    assertError(gw.post("/v1/completions", key, new JsonObject().put("model", "gpt-fast")
        .put("prompt", new JsonArray().add(new JsonArray().add(1)).add(new JsonArray().add(2)))), 400, "prompt", null);
    assertEquals(0, fake.requestCount(), "nothing reached the backend");

    HttpResponse<Buffer> one = chatWith(new JsonObject().put("n", 1).put("max_tokens", 2));
    assertEquals(1, one.bodyAsJsonObject().getJsonArray("choices").size());
    assertFalse(fake.lastRequestBody().containsKey("n_cmpl"));
    assertBudget(gw.post("/v1/completions", key, new JsonObject().put("model", "gpt-fast")
        .put("prompt", new JsonArray().add("only one")).put("max_tokens", 2)), 2);
    assertBudget(gw.post("/v1/completions", key, new JsonObject().put("model", "gpt-fast")
        .put("prompt", new JsonArray().add(1).add(2).add(3)).put("max_tokens", 2)), 2);
  }

  @Test
  @DisplayName("llama.cpp fields that reach past the tenant's own request are refused; unknown fields are dropped; "
      + "reviewed extensions pass")
  void allowlist() {
    for (String field : new String[] {"id_slot", "slot_id", "lora", "speculative.n_max", "chat_format",
        "response_fields", "n_cache_reuse"}) {
      assertError(chatWith(new JsonObject().put(field, 1)), 400, field, "unsupported_parameter");
    }
    assertEquals(0, fake.requestCount());

    HttpResponse<Buffer> ok = chatWith(new JsonObject().put("store", true).put("metadata", new JsonObject())
        .put("some_future_llama_field", 5).put("top_k", 40).put("min_p", 0.05).put("repeat_penalty", 1.1)
        .put("temperature", 0.7).put("seed", 42).put("user", "u-1"));
    assertEquals(200, ok.statusCode(), ok.bodyAsString());
    JsonObject upstream = fake.lastRequestBody();
    assertNull(upstream.getValue("store"), "unknown fields are not forwarded");
    assertNull(upstream.getValue("some_future_llama_field"));
    assertEquals(40, upstream.getInteger("top_k"));
    assertEquals(0.7, upstream.getDouble("temperature"));
    assertEquals(42, upstream.getInteger("seed"));
  }

  @Test
  @DisplayName("a body over 64 KiB is parsed and checked on a worker thread with the same answers")
  void largeBodies() {
    String big = "x".repeat(ProxyHandler.INLINE_PARSE_BYTES * 4);
    JsonObject body = new JsonObject().put("model", "gpt-fast").put("max_tokens", 2).put("messages",
        new JsonArray().add(new JsonObject().put("role", "user").put("content", big)));
    assertBudget(gw.post("/v1/chat/completions", key, body), 2);
    assertError(gw.post("/v1/chat/completions", key, body.copy().put("n", 2)), 400, "n", null);
    HttpResponse<Buffer> badJson = gw.client().post("/v1/chat/completions").bearerTokenAuthentication(key)
        .putHeader("content-type", "application/json")
        .sendBuffer(Buffer.buffer(body.encode().replace("\"max_tokens\":2", "\"max_tokens\":2 /* c */"))).await();
    assertError(badJson, 400, null, "invalid_json");
    assertEquals(1, fake.requestCount());
  }

  @Test
  @DisplayName("images are inline data only: an http or file URL would make the backend fetch it")
  void noImageLinks() {
    JsonArray parts = new JsonArray().add(new JsonObject().put("type", "text").put("text", "what is this?"))
        .add(new JsonObject().put("type", "image_url").put("image_url",
            new JsonObject().put("url", "http://169.254.169.254/latest/meta-data/")));
    JsonObject body = new JsonObject().put("model", "gpt-fast").put("messages",
        new JsonArray().add(new JsonObject().put("role", "user").put("content", parts)));
    assertError(gw.post("/v1/chat/completions", key, body), 400, "messages[0].content[1].image_url.url", null);
    assertEquals(0, fake.requestCount());
  }
}
