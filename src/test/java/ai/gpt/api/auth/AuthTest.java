package ai.gpt.api.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.proxy.ChatCompletionsTestSupport;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class AuthTest {
  private GatewayHarness gw;
  private FakeLlamaServer fake;

  @BeforeEach
  void setUp(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    gw.addBackend("gpt-fast", fake);
  }

  @AfterEach
  void tearDown() {
    gw.close();
    fake.close().await();
  }

  private HttpResponse<Buffer> chat(String key) {
    return gw.post("/v1/chat/completions", key, ChatCompletionsTestSupport.chat("gpt-fast"));
  }

  static void assertError(HttpResponse<Buffer> resp, int status, String code) {
    assertEquals(status, resp.statusCode(), resp.bodyAsString());
    JsonObject error = resp.bodyAsJsonObject().getJsonObject("error");
    assertEquals(code, error.getString("code"), resp.bodyAsString());
    assertEquals(List.of("message", "type", "param", "code"), List.copyOf(error.fieldNames()));
  }

  @Test
  @DisplayName("missing, malformed and unknown keys get 401 invalid_api_key in OpenAI's shape")
  void badKeys() {
    assertError(chat(null), 401, "invalid_api_key");
    assertError(chat("sk-not-ours"), 401, "invalid_api_key");
    String real = gw.createKey();
    String unknown = real.substring(0, real.length() - 1) + (real.endsWith("A") ? "B" : "A");
    assertError(chat(unknown), 401, "invalid_api_key");
    String otherId = "gpt_live_AAAAAAAAAAAA_" + real.substring(real.length() - 40);
    assertError(chat(otherId), 401, "invalid_api_key");
    assertEquals(200, chat(real).statusCode());
    assertEquals(1, fake.requestCount(), "rejected requests never reach a backend");
  }

  @Test
  @DisplayName("an expired key is refused")
  void expiredKey() {
    long org = gw.createOrg("expiring");
    assertError(chat(gw.createKey(org, OffsetDateTime.now().minusMinutes(1))), 401, "invalid_api_key");
    assertEquals(200, chat(gw.createKey(org, OffsetDateTime.now().plusDays(1))).statusCode());
  }

  @Test
  @DisplayName("a revoked key stops working within 1 s once the revocation is published")
  void revocationPropagates(Vertx vertx) {
    String key = gw.createKey();
    assertEquals(200, chat(key).statusCode()); // now cached
    String publicId = ApiKeyFormat.parse(key).publicId();
    gw.pool().preparedQuery("UPDATE api_keys SET status = 'revoked' WHERE public_id = $1")
        .execute(Tuple.of(publicId)).await();
    assertEquals(200, chat(key).statusCode(), "still cached until the revocation is published");
    Redis redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(TestServices.REDIS_URL));
    long published = System.currentTimeMillis();
    KeyInvalidations.publish(redis, publicId).await();
    GatewayHarness.awaitTrue("revocation", () -> chat(key).statusCode() == 401);
    long took = System.currentTimeMillis() - published;
    assertEquals(true, took < 1000, "took " + took + " ms");
    redis.close();
  }

  @Test
  @DisplayName("a key limited to some models gets 403 model_not_allowed for others and sees only its models")
  void modelAllowList() {
    String key = gw.createKey("gpt-fast");
    assertEquals(200, chat(key).statusCode());
    assertError(gw.post("/v1/chat/completions", key, ChatCompletionsTestSupport.chat("gpt-full")), 403,
        "model_not_allowed");
    JsonArray models = gw.get("/v1/models", key).bodyAsJsonObject().getJsonArray("data");
    assertEquals(1, models.size());
    assertEquals("gpt-fast", models.getJsonObject(0).getString("id"));
    assertError(gw.get("/v1/models/gpt-full", key), 404, "model_not_found");
  }

  @Test
  @DisplayName("/v1/models lists every active model in OpenAI's shape; /v1/models/{id} returns one")
  void modelList() {
    String key = gw.createKey();
    JsonObject list = gw.get("/v1/models", key).bodyAsJsonObject();
    assertEquals("list", list.getString("object"));
    assertEquals(List.of("embed", "gpt-fast", "gpt-full"),
        list.getJsonArray("data").stream().map(m -> ((JsonObject) m).getString("id")).toList());
    JsonObject one = gw.get("/v1/models/gpt-full", key).bodyAsJsonObject();
    assertEquals("model", one.getString("object"));
    assertEquals("gpt-full", one.getString("id"));
    assertEquals(true, one.getLong("created") > 0);
    assertError(gw.get("/v1/models", null), 401, "invalid_api_key");
  }
}
