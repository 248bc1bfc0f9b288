package ai.gpt.api.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.proxy.ChatCompletionsTestSupport;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Metric labels come from a closed set, never from the spelling of a request (each label is memory forever). */
@ExtendWith(VertxExtension.class)
class MetricLabelsTest {
  @Test
  @DisplayName("every spelling of a route's path counts under the one endpoint label")
  void pathSpellings(Vertx vertx) {
    GatewayHarness gw = GatewayHarness.start(vertx);
    FakeLlamaServer fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    try {
      gw.addBackend("gpt-fast", fake);
      String key = gw.createKey();
      List<String> spellings = List.of("/v1/chat/completions", "/v1//chat/completions", "/v1/./chat/completions",
          "/v1/a/../chat/completions", "/v1/b/../chat/completions", "/v1/chat/completions/");
      for (String path : spellings) {
        assertEquals(200, gw.post(path, key, ChatCompletionsTestSupport.chat("gpt-fast")).statusCode(), path);
      }
      List<String> series = gw.metrics().lines().filter(l -> l.startsWith("gptapi_requests_total{")).toList();
      assertEquals(List.of("gptapi_requests_total{endpoint=\"/v1/chat/completions\",model=\"gpt-fast\","
          + "status=\"200\"} " + spellings.size() + ".0"), series);
    } finally {
      gw.close();
      fake.close().await();
    }
  }
}
