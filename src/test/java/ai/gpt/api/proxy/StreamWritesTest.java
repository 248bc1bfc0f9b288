package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * SSE events that reach the gateway in one read leave it in one write: each write of a chunked response is one HTTP
 * chunk, so the client counts the gateway's writes. The fake sends a whole 16-token stream at once (no token
 * delay), as a fast model on a loaded machine does.
 */
@ExtendWith(VertxExtension.class)
class StreamWritesTest {
  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private HttpClient raw;

  @AfterEach
  void tearDown() {
    if (raw != null) {
      raw.close().await();
    }
    gw.close();
    fake.close().await();
  }

  @Test
  @DisplayName("a stream's events that arrive together go out in a few writes, not one per event")
  void eventsOfOneReadInOneWrite(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    gw.addBackend("gpt-fast", fake);
    String key = gw.createKey();
    raw = vertx.createHttpClient();
    JsonObject body = new JsonObject().put("model", "gpt-fast").put("stream", true).put("max_tokens", 16)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Count")));
    AtomicInteger chunks = new AtomicInteger();
    StringBuilder text = new StringBuilder();
    raw.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(gw.port())
            .setURI("/v1/chat/completions").putHeader("authorization", "Bearer " + key)
            .putHeader("content-type", "application/json"))
        .compose(req -> req.send(body.toBuffer()))
        .compose(resp -> {
          resp.handler(chunk -> {
            chunks.incrementAndGet();
            text.append(chunk.toString());
          });
          return resp.end();
        })
        .timeout(30, TimeUnit.SECONDS).await();

    assertEquals(16, text.toString().split("\"content\":\"", -1).length - 1, text.toString());
    assertTrue(text.toString().endsWith("data: [DONE]\n\n"), text.toString());
    // 18 events (role, 16 tokens, the last one) and [DONE]: one write each before, a handful now.
    assertTrue(chunks.get() <= 6, chunks.get() + " writes for 19 events");
  }
}
