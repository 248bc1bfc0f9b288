package ai.gpt.api.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class PublicModelsTest {
  private GatewayHarness gw;

  @BeforeEach
  void setUp(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
  }

  @AfterEach
  void tearDown() {
    gw.pool().query("UPDATE models SET input_price_micros_per_m = 250000, active = true WHERE id = 'gpt-fast'")
        .execute().await();
    gw.close();
  }

  @Test
  @DisplayName("GET /api/models: every active model with decimal and micro-USD prices per 1M tokens, no auth, cacheable")
  void publicCatalogue() {
    var resp = gw.get("/api/models", null);
    assertEquals(200, resp.statusCode());
    assertEquals("public, max-age=60", resp.getHeader("cache-control"));
    assertNull(resp.getHeader("www-authenticate"));
    JsonObject body = resp.bodyAsJsonObject();
    assertEquals("list", body.getString("object"));
    JsonArray data = body.getJsonArray("data");
    assertEquals(3, data.size(), body.encode());
    JsonObject embed = data.getJsonObject(0);
    assertEquals("embed", embed.getString("id"));
    assertEquals("embedding", embed.getString("type"));
    JsonObject fast = data.getJsonObject(1);
    assertEquals("gpt-fast", fast.getString("id"));
    assertEquals("gpt-api", fast.getString("owned_by"));
    assertEquals("gpt-oss-20B", fast.getString("name"));
    assertEquals("chat", fast.getString("type"));
    assertEquals(131072, fast.getInteger("context_length"));
    assertEquals(new JsonObject().put("input_per_1m_tokens", "0.250000").put("input_per_1m_tokens_micros", 250000)
        .put("output_per_1m_tokens", "0.500000").put("output_per_1m_tokens_micros", 500000), fast.getJsonObject("pricing"));
    assertEquals("gpt-full", data.getJsonObject(2).getString("id"));
  }

  @Test
  @DisplayName("a price change or a deactivated model shows in the next answer (the cached body follows reloads)")
  void followsTheCatalogue() {
    gw.get("/api/models", null); // fills the cache
    gw.pool().query("UPDATE models SET input_price_micros_per_m = 1234567 WHERE id = 'gpt-fast'").execute().await();
    GatewayHarness.awaitTrue("the new price", () -> "1.234567".equals(fast().getJsonObject("pricing")
        .getString("input_per_1m_tokens")));
    gw.pool().query("UPDATE models SET active = false WHERE id = 'gpt-fast'").execute().await();
    GatewayHarness.awaitTrue("gpt-fast gone", () -> fast() == null);
  }

  private JsonObject fast() {
    for (Object o : gw.get("/api/models", null).bodyAsJsonObject().getJsonArray("data")) {
      if (o instanceof JsonObject m && m.getString("id").equals("gpt-fast")) {
        return m;
      }
    }
    return null;
  }
}
