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

  /** An assistant message with {@code call} as its one tool call. */
  private static io.vertx.core.json.JsonArray assistantCalls(Object call) {
    return new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "assistant")
        .put("tool_calls", new io.vertx.core.json.JsonArray().add(call)));
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
  @DisplayName("JSON is parsed strictly: comments, trailing commas, quotes, NaN, leading zeros, duplicate keys, "
      + "trailing data, overflowing numbers, deep nesting and bad UTF-8 all get 400 invalid_json")
  void strictJson() {
    String ok = "\"model\":\"gpt-fast\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
    for (String body : new String[] {
        "{" + ok + " /* comment */}", "{" + ok + ", // comment\n\"max_tokens\":1}", "{" + ok + ",}",
        "{" + ok + ",'max_tokens':1}", "{" + ok + ",max_tokens:1}", "{" + ok + ",\"temperature\":NaN}",
        "{" + ok + ",\"temperature\":Infinity}", "{" + ok + ",\"max_tokens\":01}", "{" + ok + ",\"temperature\":1e400}",
        "{" + ok + ",\"max_tokens\":1,\"max_tokens\":9999}", "{" + ok + "} {}", "{" + ok + "} x",
        "{" + ok + ",\"t\":" + "[".repeat(100) + "]".repeat(100) + "}",
        "{" + ok + ",\"temperature\":0." + "1".repeat(100) + "}"}) {
      assertError(raw(body), 400, null, "invalid_json");
    }
    byte[] latin1 = ("{" + ok + ",\"user\":\"caf\u00e9\"}").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    assertError(gw.client().post("/v1/chat/completions").bearerTokenAuthentication(key)
        .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(latin1)).await(), 400, null,
        "invalid_json");
    byte[] utf16 = ("{" + ok + "}").getBytes(java.nio.charset.StandardCharsets.UTF_16LE);
    assertError(gw.client().post("/v1/chat/completions").bearerTokenAuthentication(key)
        .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(utf16)).await(), 400, null,
        "invalid_json");
    for (String body : new String[] {"{\"email\":\"a@example.com\" /* x */,\"password\":\"p\"}",
        "{\"email\":\"a@example.com\",\"password\":\"p\",\"password\":\"q\"}"}) {
      assertError(gw.client().post("/api/auth/signin").putHeader("content-type", "application/json")
          .sendBuffer(Buffer.buffer(body)).await(), 400, null, "invalid_json"); // /api uses the same parser
    }
    assertEquals(0, fake.requestCount(), "nothing reached the backend");
    assertEquals(200, raw("{" + ok + ",\"max_tokens\":1,\"user\":\"caf\u00e9 \\u00e9\"}").statusCode());
  }

  @Test
  @DisplayName("every documented OpenAI parameter is checked for type and range, with a nested param name")
  void openAiParameterTypes() {
    Object[][] chatCases = {
        {"temperature", "hot", "temperature"}, {"temperature", 2.5, "temperature"}, {"temperature", -0.1, "temperature"},
        {"top_p", 1.5, "top_p"}, {"presence_penalty", -3, "presence_penalty"},
        {"frequency_penalty", 2.01, "frequency_penalty"}, {"seed", 1.5, "seed"}, {"seed", "1", "seed"},
        {"max_tokens", 1000.0, "max_tokens"}, {"n", 1.0, "n"}, {"n", 0, "n"},
        {"stop", new io.vertx.core.json.JsonArray().add("a").add("b").add("c").add("d").add("e"), "stop"},
        {"stop", new io.vertx.core.json.JsonArray().add(1), "stop[0]"}, {"stop", 5, "stop"},
        {"logit_bias", new JsonObject().put("hello", 1), "logit_bias"},
        {"logit_bias", new JsonObject().put("50256", 101), "logit_bias.50256"},
        {"logit_bias", new io.vertx.core.json.JsonArray(), "logit_bias"},
        {"logprobs", "yes", "logprobs"}, {"logprobs", 1, "logprobs"},
        {"response_format", new JsonObject().put("type", "xml"), "response_format.type"},
        {"response_format", "json", "response_format"},
        {"response_format", new JsonObject().put("type", "json_schema"), "response_format.json_schema"},
        {"tools", new io.vertx.core.json.JsonArray().add(new JsonObject().put("type", "function")), "tools[0].function"},
        {"tools", new io.vertx.core.json.JsonArray().add(new JsonObject().put("type", "function")
            .put("function", new JsonObject().put("name", "has space"))), "tools[0].function.name"},
        {"tool_choice", "sometimes", "tool_choice"},
        {"tool_choice", new JsonObject().put("type", "function"), "tool_choice.function"},
        {"parallel_tool_calls", "true", "parallel_tool_calls"}, {"user", 5, "user"},
        {"stream_options", new JsonObject().put("include_usage", true), "stream_options"},
        {"top_k", -1, "top_k"}, {"min_p", 2, "min_p"}, {"n_probs", 1000, "n_probs"},
        {"messages", new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "robot").put("content", "x")),
            "messages[0].role"},
        {"messages", new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "user")), "messages[0].content"},
        {"messages", new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "user").put("content",
            new io.vertx.core.json.JsonArray().add(new JsonObject().put("type", "video")))), "messages[0].content[0].type"},
        {"messages", new io.vertx.core.json.JsonArray().add("hi"), "messages[0]"},
        {"messages", assistantCalls(1), "messages[0].tool_calls[0]"},
        {"messages", assistantCalls(new JsonObject()), "messages[0].tool_calls[0].type"},
        {"messages", assistantCalls(new JsonObject().put("type", "function")), "messages[0].tool_calls[0].function"},
        {"messages", assistantCalls(new JsonObject().put("type", "function").put("function",
            new JsonObject().put("name", 5).put("arguments", "{}"))), "messages[0].tool_calls[0].function.name"},
        {"messages", assistantCalls(new JsonObject().put("type", "function").put("function",
            new JsonObject().put("name", "f"))), "messages[0].tool_calls[0].function.arguments"},
        {"messages", assistantCalls(new JsonObject().put("id", 1).put("type", "function").put("function",
            new JsonObject().put("name", "f").put("arguments", "{}"))), "messages[0].tool_calls[0].id"},
        {"messages", new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "assistant")
            .put("content", "x").put("reasoning_content", 5)), "messages[0].reasoning_content"},
        {"messages", new io.vertx.core.json.JsonArray(), "messages"},
    };
    for (Object[] c : chatCases) {
      assertError(gw.post("/v1/chat/completions", key, chat("gpt-fast").put((String) c[0], c[1])), 400, (String) c[2],
          null);
    }
    assertError(gw.post("/v1/chat/completions", key, chat("gpt-fast").put("top_logprobs", 3)), 400, "top_logprobs",
        null);
    assertError(gw.post("/v1/chat/completions", key, chat("gpt-fast").put("logprobs", true).put("top_logprobs", 21)),
        400, "top_logprobs", null);
    JsonObject completion = new JsonObject().put("model", "gpt-fast").put("prompt", "Hi");
    assertError(gw.post("/v1/completions", key, completion.copy().put("logprobs", 6)), 400, "logprobs", null);
    assertError(gw.post("/v1/completions", key, completion.copy().put("tools", new io.vertx.core.json.JsonArray())),
        400, "tools", "unsupported_parameter");
    assertError(gw.post("/v1/completions", key, completion.copy().put("prompt", 5)), 400, "prompt", null);
    assertError(gw.post("/v1/completions", key, completion.copy().put("echo", true)), 400, "echo", null);
    JsonObject embed = new JsonObject().put("model", "embed").put("input", "x");
    gw.addBackend("embed", fake);
    assertError(gw.post("/v1/embeddings", key, embed.copy().put("encoding_format", "hex")), 400, "encoding_format", null);
    assertError(gw.post("/v1/embeddings", key, embed.copy().put("dimensions", 1.5)), 400, "dimensions", null);
    assertError(gw.post("/v1/embeddings", key, embed.copy().put("dimensions", 256)), 400, "dimensions", null);
    assertError(gw.post("/v1/embeddings", key, embed.copy().put("input", new io.vertx.core.json.JsonArray().add("a")
        .add(7))), 400, "input[1]", null);
    assertError(gw.post("/v1/embeddings", key, embed.copy().put("input", new io.vertx.core.json.JsonArray().add(1)
        .add(-2))), 400, "input[1]", null);
    assertEquals(0, fake.requestCount(), "invalid requests never reach a backend");

    JsonObject call = new JsonObject().put("id", "call_1").put("type", "function")
        .put("function", new JsonObject().put("name", "f").put("arguments", "{}"));
    HttpResponse<Buffer> called = gw.post("/v1/chat/completions", key, chat("gpt-fast").put("max_tokens", 2)
        .put("messages", assistantCalls(call).add(new JsonObject().put("role", "tool").put("tool_call_id", "call_1")
            .put("content", "42"))));
    assertEquals(200, called.statusCode(), called.bodyAsString());

    JsonObject valid = chat("gpt-fast").put("temperature", 0).put("top_p", 1).put("presence_penalty", -2)
        .put("frequency_penalty", 2).put("seed", -5).put("stop", "\n").put("max_tokens", 2)
        .put("logit_bias", new JsonObject().put("50256", -100)).put("logprobs", true).put("top_logprobs", 20)
        .put("response_format", new JsonObject().put("type", "json_object")).put("n", 1)
        .put("tool_choice", "auto").put("stream", false).put("user", "u").put("stop", (Object) null);
    HttpResponse<Buffer> ok = gw.post("/v1/chat/completions", key, valid);
    assertEquals(200, ok.statusCode(), ok.bodyAsString());
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
