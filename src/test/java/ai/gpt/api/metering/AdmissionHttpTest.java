package ai.gpt.api.metering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Admission as a client sees it over HTTP: 429 and 402 answers, and OpenAI's rate-limit headers. */
@ExtendWith(VertxExtension.class)
class AdmissionHttpTest {
  private FakeLlamaServer fake;
  private GatewayHarness gw;

  @BeforeEach
  void start(Vertx vertx) {
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(8)).await();
    gw = GatewayHarness.start(vertx);
    gw.addBackend("gpt-fast", fake);
  }

  @AfterEach
  void stop() {
    gw.close();
    fake.close().await();
  }

  @Test
  @DisplayName("requests per minute: 429 names the window, with Retry-After and x-ratelimit headers; refusals cost nothing")
  void requestsPerMinute() {
    long org = gw.createOrg("rpm");
    limit("organizations", org, "rpm", 2);
    String key = gw.createKey(org, null);

    HttpResponse<Buffer> first = gw.post("/v1/chat/completions", key, chat(5));
    assertEquals(200, first.statusCode(), first.bodyAsString());
    assertEquals("2", first.getHeader("x-ratelimit-limit-requests"));
    assertEquals("1", first.getHeader("x-ratelimit-remaining-requests"));
    assertTrue(first.getHeader("x-ratelimit-reset-requests").matches("\\d+(\\.\\d+)?s|\\d+ms"),
        first.getHeader("x-ratelimit-reset-requests"));
    // The plan's tokens per minute is the tightest token window.
    assertEquals("2000000", first.getHeader("x-ratelimit-limit-tokens"));
    assertTrue(Long.parseLong(first.getHeader("x-ratelimit-remaining-tokens")) < 2_000_000);
    assertNotNull(first.getHeader("x-ratelimit-reset-tokens"));

    assertEquals(200, gw.post("/v1/chat/completions", key, chat(5)).statusCode());
    HttpResponse<Buffer> refused = gw.post("/v1/chat/completions", key, chat(5));
    assertEquals(429, refused.statusCode());
    JsonObject error = refused.bodyAsJsonObject().getJsonObject("error");
    assertEquals("rate_limit_exceeded", error.getString("code"));
    assertEquals("requests", error.getString("type"));
    assertTrue(error.getString("message").contains("requests per minute (org)"), error.getString("message"));
    // 2 per minute: the next request fits in about 30 s.
    long retryAfter = Long.parseLong(refused.getHeader("retry-after"));
    assertTrue(retryAfter >= 1 && retryAfter <= 30, "Retry-After " + retryAfter);
    long retryAfterMs = Long.parseLong(refused.getHeader("retry-after-ms"));
    assertTrue(retryAfterMs > 0 && retryAfterMs <= 30_000, "retry-after-ms " + retryAfterMs);
    assertEquals("0", refused.getHeader("x-ratelimit-remaining-requests"));

    // Two usage rows (the refused request is neither served nor billed) and the ledger matches them exactly.
    GatewayHarness.awaitTrue("usage rows", () -> gw.usageRows(org) == 2);
    assertEquals(GatewayHarness.DEFAULT_CREDIT_MICROS - usageCost(org), gw.ledgerBalance(org));
    assertTrue(gw.metrics().contains("outcome=\"rate_limited\""), "rejections are counted by reason");
  }

  @Test
  @DisplayName("a request larger than a whole token window: 429 'Request too large' without Retry-After")
  void requestTooLarge() {
    long org = gw.createOrg("small");
    String key = gw.createKey(org, null);
    limit("api_keys", keyId(key), "tpm", 100);

    HttpResponse<Buffer> refused = gw.post("/v1/chat/completions", key, chat(500));
    assertEquals(429, refused.statusCode());
    JsonObject error = refused.bodyAsJsonObject().getJsonObject("error");
    assertEquals("tokens", error.getString("type"));
    assertEquals("rate_limit_exceeded", error.getString("code"));
    assertTrue(error.getString("message").startsWith("Request too large for tokens per minute (key)"),
        error.getString("message"));
    assertNull(refused.getHeader("retry-after"), "waiting cannot help");
    assertEquals("100", refused.getHeader("x-ratelimit-limit-tokens"));
    assertEquals(200, gw.post("/v1/chat/completions", key, chat(20)).statusCode(), "a smaller one fits");
  }

  @Test
  @DisplayName("credit below the request's maximum cost: 402 insufficient_quota, nothing served or billed")
  void insufficientQuota() {
    // gpt-fast: 1000 output tokens at $0.50/1M may cost $0.0005 plus the prompt's bound (its bytes and 256 template
    // tokens at $0.25/1M, about $0.0001); give it $0.0002.
    long org = gw.createOrg("poor", 200);
    String key = gw.createKey(org, null);

    HttpResponse<Buffer> refused = gw.post("/v1/chat/completions", key, chat(1000));
    assertEquals(402, refused.statusCode());
    JsonObject error = refused.bodyAsJsonObject().getJsonObject("error");
    assertEquals("insufficient_quota", error.getString("type"));
    assertEquals("insufficient_quota", error.getString("code"));
    assertTrue(error.getString("message").contains(" and $0.0002 is available"), error.getString("message"));
    assertTrue(!error.getString("message").contains("$$"), error.getString("message"));
    assertNotNull(refused.getHeader("x-ratelimit-limit-requests"), "rate-limit headers on refusals too");
    assertEquals(0, fake.requestCount(), "nothing reached the backend");

    // 100 output tokens may cost $0.00005 plus the prompt's bound: that fits.
    assertEquals(200, gw.post("/v1/chat/completions", key, chat(100)).statusCode());
    GatewayHarness.awaitTrue("usage row", () -> gw.usageRows(org) == 1);
    assertEquals(200 - usageCost(org), gw.ledgerBalance(org));
  }

  @Test
  @DisplayName("concurrent requests per key: the second is refused while the first streams, served after it ends")
  void concurrencyPerKey(Vertx vertx) {
    long org = gw.createOrg("batch");
    String key = gw.createKey(org, null);
    limit("api_keys", keyId(key), "concurrency", 1);
    fake.setTokenDelayMs(100);

    Future<HttpResponse<Buffer>> slow = gw.client().post("/v1/chat/completions").bearerTokenAuthentication(key)
        .sendJsonObject(chat(8).put("stream", true));
    GatewayHarness.awaitTrue("first request in flight", () -> fake.requestCount() == 1);
    HttpResponse<Buffer> refused = gw.post("/v1/chat/completions", key, chat(5));
    assertEquals(429, refused.statusCode());
    JsonObject error = refused.bodyAsJsonObject().getJsonObject("error");
    assertTrue(error.getString("message").contains("concurrent requests"), error.getString("message"));
    assertEquals("1", refused.getHeader("retry-after"));

    assertEquals(200, slow.await().statusCode());
    fake.setTokenDelayMs(0);
    assertEquals(200, gw.post("/v1/chat/completions", key, chat(5)).statusCode(), "the slot was released");
    // A key of another organization is not affected by this key's limit.
    assertEquals(200, gw.post("/v1/chat/completions", gw.createKey(), chat(5)).statusCode());
  }

  private void limit(String table, long id, String column, long value) {
    gw.pool().preparedQuery("UPDATE " + table + " SET " + column + " = $2 WHERE id = $1")
        .execute(Tuple.of(id, value)).await();
  }

  private long keyId(String fullKey) {
    String publicId = fullKey.substring("gpt_live_".length(), "gpt_live_".length() + 12);
    return gw.pool().preparedQuery("SELECT id FROM api_keys WHERE public_id = $1").execute(Tuple.of(publicId))
        .await().iterator().next().getLong(0);
  }

  private long usageCost(long org) {
    return gw.pool().preparedQuery("SELECT COALESCE(SUM(cost_micros), 0) FROM usage WHERE org_id = $1")
        .execute(Tuple.of(org)).await().iterator().next().getLong(0);
  }

  static JsonObject chat(int maxTokens) {
    return new JsonObject().put("model", "gpt-fast").put("max_tokens", maxTokens)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hello there")));
  }
}
