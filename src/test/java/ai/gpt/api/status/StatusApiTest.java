package ai.gpt.api.status;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** GET /api/status against a real gateway with fake llama.cpp servers stopped and started. */
@ExtendWith(VertxExtension.class)
class StatusApiTest {
  static final Map<String, String> FAST = Map.of("STATUS_SAMPLE_MS", "100", "STATUS_CACHE_MS", "100",
      "STATUS_MIN_REQUESTS", "5", "STATUS_INCIDENT_AFTER_SECONDS", "600");
  private static final String BACKEND_KEY = "sk-backend-secret-0123456789";
  private GatewayHarness gw;
  private FakeLlamaServer fastA;
  private FakeLlamaServer fastB;
  private FakeLlamaServer embed;

  @BeforeEach
  void setUp(Vertx vertx) {
    StatusTables.clean(vertx);
    gw = GatewayHarness.start(vertx, FAST);
    fastA = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(3)).await();
    fastB = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(2).apiKey(BACKEND_KEY)).await();
    embed = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().embeddings(true)).await();
  }

  @AfterEach
  void tearDown() {
    gw.close();
    fastA.close().await();
    fastB.close().await();
    embed.close().await();
  }

  private JsonObject status() {
    HttpResponse<Buffer> resp = gw.get("/api/status", null);
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    assertTrue(resp.getHeader("Cache-Control").startsWith("public, max-age="), resp.getHeader("Cache-Control"));
    return resp.bodyAsJsonObject();
  }

  private static JsonObject byId(JsonArray array, Object id) {
    for (Object o : array) {
      JsonObject j = (JsonObject) o;
      if (String.valueOf(id).equals(String.valueOf(j.getValue("id")))) {
        return j;
      }
    }
    throw new AssertionError("no " + id + " among " + array.size() + " entries");
  }

  private JsonObject awaitStatus(String what, java.util.function.Predicate<JsonObject> condition) {
    JsonObject[] last = new JsonObject[1];
    try {
      // Right after the start the page may not be built yet (503); it is after the first sample.
      awaitTrue(what, () -> gw.get("/api/status", null).statusCode() == 200 && condition.test(last[0] = status()));
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + ": services " + (last[0] == null ? null
          : last[0].getJsonArray("services").encode() + ", models " + last[0].getJsonArray("models").encode()));
    }
    return last[0];
  }

  private static String service(JsonObject status, String id) {
    return byId(status.getJsonArray("services"), id).getString("status");
  }

  @Test
  @DisplayName("levels follow the backends; server cards carry a public name, state, slots and never a URL or key")
  void levelsAndServerCards() {
    long a = gw.addBackend("gpt-fast", fastA);
    long b = gw.addBackend("gpt-fast", fastB.baseUrl(), fastB.slots(), BACKEND_KEY);
    long e = gw.addBackend("embed", embed);
    JsonObject s = awaitStatus("all operational", j -> j.getString("status").equals("operational"));
    assertEquals("All systems operational", s.getString("description"));
    assertEquals(List.of("chat_completions", "embeddings", "api", "billing"),
        s.getJsonArray("services").stream().map(o -> ((JsonObject) o).getString("id")).toList());
    assertFalse(byId(s.getJsonArray("services"), "billing").getBoolean("payments_enabled"));
    JsonObject card = byId(s.getJsonArray("servers"), b);
    assertEquals("gpt-fast #" + b, card.getString("name"));
    assertEquals("gpt-fast", card.getString("model"));
    assertEquals("healthy", card.getString("state"));
    assertEquals("operational", card.getString("status"));
    assertEquals(2, card.getInteger("slots_total"));
    assertEquals(0, card.getInteger("slots_busy"));
    assertEquals(3, byId(s.getJsonArray("servers"), a).getInteger("slots_total"));
    assertEquals("not_served", byId(s.getJsonArray("models"), "gpt-full").getString("status"),
        "a model without backends is not counted against chat completions");
    JsonObject uptime = card.getJsonObject("uptime");
    assertEquals(90, uptime.getJsonArray("daily").size());
    assertTrue(uptime.containsKey("last_24h_percent") && uptime.containsKey("last_30d_percent")
        && uptime.containsKey("last_90d_percent"));
    assertEquals(0, s.getJsonObject("incidents").getJsonArray("open").size());
    assertNoSecrets();

    // One of two gpt-fast servers down: quarantined, chat degraded, the rest operational.
    fastA.setHealth(FakeLlamaServer.Health.FAIL);
    s = awaitStatus("chat degraded", j -> service(j, "chat_completions").equals("degraded_performance"));
    assertEquals("quarantined", byId(s.getJsonArray("servers"), a).getString("state"));
    assertEquals("major_outage", byId(s.getJsonArray("servers"), a).getString("status"));
    assertEquals("operational", service(s, "embeddings"));
    assertEquals("degraded_performance", s.getString("status"));
    // Both down: no healthy backend for the only served chat model, a major outage.
    fastB.setHealth(FakeLlamaServer.Health.FAIL);
    s = awaitStatus("chat major outage", j -> service(j, "chat_completions").equals("major_outage"));
    assertEquals("major_outage", byId(s.getJsonArray("models"), "gpt-fast").getString("status"));
    assertEquals("major_outage", s.getString("status"));
    embed.setHealth(FakeLlamaServer.Health.LOADING);
    s = awaitStatus("embed loading", j -> byId(j.getJsonArray("servers"), e).getString("state").equals("loading"));
    assertEquals("major_outage", service(s, "embeddings"), "its only server is loading: nothing can answer");
    // A drained server is planned, not an outage.
    gw.setBackendState(e, "draining");
    s = awaitStatus("embed draining", j -> byId(j.getJsonArray("servers"), e).getString("state").equals("draining"));
    assertEquals("not_served", byId(s.getJsonArray("models"), "embed").getString("status"));
    fastA.setHealth(FakeLlamaServer.Health.OK);
    fastB.setHealth(FakeLlamaServer.Health.OK);
    awaitStatus("chat back", j -> service(j, "chat_completions").equals("operational"));
    assertNoSecrets();

    // The minutes were recorded for services, models and servers.
    long rows = gw.pool().query("SELECT count(*) FROM status_minutes WHERE component IN ('service:chat_completions',"
        + " 'model:gpt-fast', 'backend:" + a + "') AND level = 3").execute().await().iterator().next().getLong(0);
    assertEquals(3, rows, "the outage minute of the service, the model and the server");
  }

  @Test
  @DisplayName("a 5xx share above STATUS_ERROR_RATE puts the model and chat completions in outage")
  void errorRate() {
    long a = gw.addBackend("gpt-fast", fastA);
    String key = gw.createKey();
    awaitStatus("operational", j -> service(j, "chat_completions").equals("operational"));
    fastA.setHealth(FakeLlamaServer.Health.ERROR_500);
    JsonObject chat = new JsonObject().put("model", "gpt-fast")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
    for (int i = 0; i < 12; i++) {
      assertTrue(gw.post("/v1/chat/completions", key, chat).statusCode() >= 500);
    }
    JsonObject s = awaitStatus("errors seen", j -> !service(j, "chat_completions").equals("operational"));
    assertEquals("major_outage", byId(s.getJsonArray("models"), "gpt-fast").getString("status"),
        "every request failed");
    assertEquals("major_outage", service(s, "chat_completions"));
    assertEquals("healthy", byId(s.getJsonArray("servers"), a).getString("state"), "/health still answers 200");
    // The cluster's minute rows hold the requests and errors (added, not overwritten).
    awaitTrue("errors recorded", () -> gw.pool().query("SELECT COALESCE(sum(errors), 0) || '/' ||"
        + " COALESCE(sum(requests), 0) FROM status_minutes WHERE component = 'model:gpt-fast'").execute().await()
        .iterator().next().getString(0).equals("12/12"));
  }

  private void assertNoSecrets() {
    String body = gw.get("/api/status", null).bodyAsString();
    for (FakeLlamaServer f : List.of(fastA, fastB, embed)) {
      assertFalse(body.contains(f.baseUrl()), "no backend URL");
      assertFalse(body.contains(":" + f.port()), "no backend port");
    }
    assertFalse(body.contains("127.0.0.1"), "no backend host");
    assertFalse(body.contains(BACKEND_KEY), "no backend key");
    assertNotNull(body);
  }
}
