package ai.gpt.api.metering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * METERING=off over real HTTP, against a fake llama.cpp: keys are still checked, requests are proxied as usual, and
 * nothing is admitted, limited, charged or recorded (no metering key in Redis, no usage event, no usage row).
 */
@ExtendWith(VertxExtension.class)
class UnmeteredTest {
  private FakeLlamaServer fake;
  private GatewayHarness gw;
  private Redis redis;

  @AfterEach
  void stop() {
    if (redis != null) {
      redis.close();
    }
    if (gw != null) {
      gw.close();
    }
    if (fake != null) {
      fake.close().await();
    }
  }

  @Test
  @DisplayName("METERING=off: a valid key is proxied without limits, credit or usage; no key or a wrong one is 401")
  void unmetered(Vertx vertx) throws InterruptedException {
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(8)).await();
    gw = GatewayHarness.start(vertx, Map.of("METERING", "off"));
    gw.addBackend("gpt-fast", fake);
    // No credit and one request per minute: a metered gateway would answer 402, then 429.
    long org = gw.createOrg("unmetered", 0);
    gw.pool().preparedQuery("UPDATE organizations SET rpm = 1 WHERE id = $1").execute(Tuple.of(org)).await();
    String key = gw.createKey(org, null);

    for (int i = 0; i < 3; i++) {
      HttpResponse<Buffer> whole = gw.post("/v1/chat/completions", key, chat(false));
      assertEquals(200, whole.statusCode(), whole.bodyAsString());
      JsonObject usage = whole.bodyAsJsonObject().getJsonObject("usage");
      assertTrue(usage.getInteger("completion_tokens") > 0, usage.encode());
      assertFalse(usage.containsKey("cost"), "nothing is charged, so no cost is claimed: " + usage.encode());
      assertNull(whole.getHeader("x-ratelimit-limit-requests"), "no limits, so no rate-limit headers");
    }
    HttpResponse<Buffer> stream = gw.post("/v1/chat/completions", key,
        chat(true).put("stream_options", new JsonObject().put("include_usage", true)));
    assertEquals(200, stream.statusCode(), stream.bodyAsString());
    String events = stream.bodyAsString();
    assertTrue(events.contains("\"usage\"") && events.trim().endsWith("data: [DONE]"), events);
    assertFalse(events.contains("\"cost\""), events);

    HttpResponse<Buffer> anonymous = gw.post("/v1/chat/completions", null, chat(false));
    assertEquals(401, anonymous.statusCode(), anonymous.bodyAsString());
    assertEquals("invalid_request_error", anonymous.bodyAsJsonObject().getJsonObject("error").getString("type"));
    HttpResponse<Buffer> wrong = gw.post("/v1/chat/completions", key.substring(0, key.length() - 2) + "xx",
        chat(false));
    assertEquals(401, wrong.statusCode(), wrong.bodyAsString());
    assertEquals(4, fake.requestCount(), "only the authenticated requests reached the backend");

    // A usage event would reach PostgreSQL within a second; give it time to show up if one had been written.
    Thread.sleep(1_500);
    assertEquals(0, count("SELECT count(*) FROM usage"));
    assertEquals(0, count("SELECT count(*) FROM credit_ledger WHERE kind = 'debit'"));
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    for (String k : scan("gptapi:{s*")) {
      // The usage writer's streams exist (it drains what a metered run left behind), but nothing entered them.
      assertEquals("stream", redis.send(Request.cmd(Command.TYPE).arg(k)).await().toString(), k);
      assertEquals(0, redis.send(Request.cmd(Command.XLEN).arg(k)).await().toLong(), k);
    }

    assertTrue(gw.metrics().lines().anyMatch(l -> l.equals("gptapi_metering_enabled 0.0")), "the gauge says off");
    assertEquals("off", health(vertx).getString("metering"));
  }

  @Test
  @DisplayName("by default every request is metered: the gauge says 1, an org without credit gets 402, a response its cost")
  void meteredByDefault(Vertx vertx) {
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(8)).await();
    gw = GatewayHarness.start(vertx);
    gw.addBackend("gpt-fast", fake);

    HttpResponse<Buffer> paid = gw.post("/v1/chat/completions", gw.createKey(), chat(false));
    assertEquals(200, paid.statusCode(), paid.bodyAsString());
    assertNotNull(paid.bodyAsJsonObject().getJsonObject("usage").getValue("cost"), paid.bodyAsString());
    HttpResponse<Buffer> broke = gw.post("/v1/chat/completions", gw.createKey(gw.createOrg("broke", 0), null),
        chat(false));
    assertEquals(402, broke.statusCode(), broke.bodyAsString());

    assertTrue(gw.metrics().lines().anyMatch(l -> l.equals("gptapi_metering_enabled 1.0")), "the gauge says on");
    assertEquals("on", health(vertx).getString("metering"));
  }

  private static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "gpt-fast").put("max_tokens", 8).put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
  }

  private long count(String sql) {
    return gw.pool().query(sql).execute().await().iterator().next().getLong(0);
  }

  private List<String> scan(String pattern) {
    List<String> keys = new ArrayList<>();
    String cursor = "0";
    do {
      Response page = redis.send(Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(pattern).arg("COUNT")
          .arg(1000)).await();
      cursor = page.get(0).toString();
      page.get(1).forEach(k -> keys.add(k.toString()));
    } while (!cursor.equals("0"));
    return keys;
  }

  private JsonObject health(Vertx vertx) {
    WebClient ops = WebClient.create(vertx);
    try {
      return ops.get(gw.metricsPort(), "127.0.0.1", "/health").send().await().bodyAsJsonObject();
    } finally {
      ops.close();
    }
  }
}
