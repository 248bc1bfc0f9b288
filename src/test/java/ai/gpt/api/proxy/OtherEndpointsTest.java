package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

@ExtendWith(VertxExtension.class)
class OtherEndpointsTest {
  private GatewayHarness gw;
  private FakeLlamaServer chat;
  private FakeLlamaServer embed;
  private String key;

  @BeforeEach
  void setUp(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    chat = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    embed = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().embeddings(true)).await();
    gw.addBackend("gpt-fast", chat);
    gw.addBackend("embed", embed);
    key = gw.createKey();
  }

  @AfterEach
  void tearDown() {
    gw.close();
    chat.close().await();
    embed.close().await();
  }

  @Test
  @DisplayName("/v1/completions, non-stream and stream")
  void completions() {
    JsonObject body = new JsonObject().put("model", "gpt-fast").put("prompt", "Once upon a time").put("max_tokens", 3);
    HttpResponse<Buffer> whole = gw.post("/v1/completions", key, body);
    assertEquals(200, whole.statusCode(), whole.bodyAsString());
    assertEquals("text_completion", whole.bodyAsJsonObject().getString("object"));
    assertEquals(3, whole.bodyAsJsonObject().getJsonObject("usage").getInteger("completion_tokens"));

    HttpResponse<Buffer> stream = gw.post("/v1/completions", key, body.copy().put("stream", true));
    assertEquals(200, stream.statusCode());
    String sse = stream.bodyAsString();
    assertTrue(sse.endsWith("data: [DONE]\n\n"), sse);
    assertTrue(!sse.contains("\"usage\""), "usage stripped when not asked for");
    assertEquals("/v1/completions", chat.lastRequestPath());
  }

  @Test
  @DisplayName("/v1/embeddings, single and batch, float and base64")
  void embeddings() {
    HttpResponse<Buffer> one = gw.post("/v1/embeddings", key, new JsonObject().put("model", "embed").put("input", "hello"));
    assertEquals(200, one.statusCode(), one.bodyAsString());
    JsonObject body = one.bodyAsJsonObject();
    assertEquals("list", body.getString("object"));
    assertEquals(1, body.getJsonArray("data").size());
    assertTrue(body.getJsonObject("usage").getInteger("prompt_tokens") > 0);

    HttpResponse<Buffer> batch = gw.post("/v1/embeddings", key, new JsonObject().put("model", "embed")
        .put("input", new JsonArray().add("a").add("b").add("c")).put("encoding_format", "base64"));
    assertEquals(200, batch.statusCode());
    JsonArray data = batch.bodyAsJsonObject().getJsonArray("data");
    assertEquals(3, data.size());
    assertTrue(data.getJsonObject(0).getValue("embedding") instanceof String, "base64 passes through");
    assertEquals(0, chat.requestCount(), "embeddings go to the embedding backend only");
  }
}
