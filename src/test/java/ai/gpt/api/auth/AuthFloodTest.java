package ai.gpt.api.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Floods of bad keys on /v1: bounded memory, bounded PostgreSQL work, and a 429 for the flooding address only. */
@ExtendWith(VertxExtension.class)
class AuthFloodTest {
  private static final int FLOOD = 3_000;
  /** Requests in flight at once; that many may pass the check before the first failures are counted. */
  private static final int PARALLEL = 32;
  private static final String ATTACKER = "203.0.113.9";
  private static final String NEIGHBOUR = "198.51.100.7";

  private GatewayHarness gw;
  private WebClient client;

  @AfterEach
  void tearDown() {
    client.close();
    gw.close();
  }

  private void start(Vertx vertx, Map<String, String> env) {
    gw = GatewayHarness.start(vertx, env);
    client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(gw.port()),
        new PoolOptions().setHttp1MaxSize(PARALLEL));
  }

  private HttpResponse<Buffer> models(String key, String forwardedFor) {
    return send(key, forwardedFor).await();
  }

  private Future<HttpResponse<Buffer>> send(String key, String forwardedFor) {
    var request = client.get("/v1/models");
    if (key != null) {
      request.bearerTokenAuthentication(key);
    }
    if (forwardedFor != null) {
      request.putHeader("X-Forwarded-For", forwardedFor);
    }
    return request.send();
  }

  /** Sends FLOOD random well-formed keys; returns how many got each status. */
  private Map<Integer, Integer> flood(IntFunction<String> forwardedFor) {
    List<Future<HttpResponse<Buffer>>> sent = new ArrayList<>();
    for (int i = 0; i < FLOOD; i++) {
      sent.add(send(ApiKeyFormat.mint().fullKey(), forwardedFor.apply(i)));
    }
    Future.all(sent).await();
    Map<Integer, Integer> statuses = new TreeMap<>();
    for (Future<HttpResponse<Buffer>> f : sent) {
      statuses.merge(f.result().statusCode(), 1, Integer::sum);
    }
    return statuses;
  }

  private double metric(String name) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " ([0-9.E+-]+)$").matcher(gw.metrics());
    assertTrue(m.find(), name + " is exported");
    return Double.parseDouble(m.group(1));
  }

  /** Scans of api_keys as PostgreSQL's statistics count them (flushed by each backend about once a second). */
  private long apiKeyScans() {
    return gw.pool().query("SELECT seq_scan + COALESCE(idx_scan, 0) FROM pg_stat_user_tables "
        + "WHERE relname = 'api_keys'").execute().await().iterator().next().getLong(0);
  }

  @Test
  @DisplayName("3,000 random keys from one address: 429 after the limit, no PostgreSQL lookup each, bounded caches, "
      + "and valid keys of other addresses keep working")
  void randomKeyFlood(Vertx vertx) throws InterruptedException {
    start(vertx, Map.of("TRUSTED_PROXIES", "127.0.0.1"));
    String neighbourKey = gw.createKey();
    String attackerOwnKey = gw.createKey();
    assertEquals(200, models(attackerOwnKey, ATTACKER).statusCode(), "the attacker's address has a valid key too");
    long scansBefore = apiKeyScans();

    Map<Integer, Integer> statuses = flood(i -> ATTACKER);
    int unauthorized = statuses.getOrDefault(401, 0);
    assertTrue(unauthorized >= AuthFailures.LIMIT && unauthorized <= AuthFailures.LIMIT + PARALLEL, "" + statuses);
    assertEquals(FLOOD - unauthorized, statuses.getOrDefault(429, 0), "" + statuses);

    HttpResponse<Buffer> refused = models(ApiKeyFormat.mint().fullKey(), ATTACKER);
    assertEquals(429, refused.statusCode());
    assertEquals("too_many_auth_failures", refused.bodyAsJsonObject().getJsonObject("error").getString("code"));
    long retryAfter = Long.parseLong(refused.getHeader("Retry-After"));
    assertTrue(retryAfter >= 1 && retryAfter <= AuthFailures.WINDOW.toSeconds(), "Retry-After " + retryAfter);
    assertEquals(429, models(null, ATTACKER).statusCode(), "a missing key is refused the same way");

    // Another address is not affected, whether its key is cached yet or not.
    assertEquals(200, models(neighbourKey, NEIGHBOUR).statusCode());
    // The throttled address: a key this replica has cached is still served; any other waits (no lookup).
    assertEquals(200, models(attackerOwnKey, ATTACKER).statusCode());
    assertEquals(429, models(gw.createKey(), ATTACKER).statusCode());

    double queries = metric("gptapi_auth_key_queries_total");
    assertTrue(queries <= 3 + AuthFailures.LIMIT + PARALLEL, "PostgreSQL key lookups: " + queries);
    double unknown = metric("gptapi_cache_entries{cache=\"unknown_api_keys\"}");
    assertTrue(unknown <= AuthFailures.LIMIT + PARALLEL, "unknown ids cached: " + unknown);
    assertEquals(FLOOD - unauthorized + 3, metric("gptapi_auth_throttled_total"), 0.0);
    Thread.sleep(1_500); // let the gateway's connections report their statistics
    long scans = apiKeyScans() - scansBefore;
    assertTrue(scans <= 3 + AuthFailures.LIMIT + PARALLEL, "scans of api_keys during the flood: " + scans);
  }

  @Test
  @DisplayName("without TRUSTED_PROXIES a forged X-Forwarded-For does not escape the limit")
  void forgedForwardedFor(Vertx vertx) {
    start(vertx, Map.of());
    Map<Integer, Integer> statuses = flood(i -> "192.0.2." + (i % 250));
    assertTrue(statuses.getOrDefault(401, 0) <= AuthFailures.LIMIT + PARALLEL, "" + statuses);
    assertEquals(429, models(gw.createKey(), null).statusCode(), "the real address (127.0.0.1) is throttled");
  }

  @Test
  @DisplayName("a key created after a lookup missed works within a second")
  void keyCreatedAfterMiss(Vertx vertx) throws InterruptedException {
    start(vertx, Map.of());
    long org = gw.createOrg("late");
    ApiKeyFormat.Minted minted = ApiKeyFormat.mint();
    assertEquals(401, models(minted.fullKey(), null).statusCode());
    assertEquals(401, models(minted.fullKey(), null).statusCode());
    gw.pool().preparedQuery("INSERT INTO api_keys (public_id, secret_hash, org_id) VALUES ($1, $2, $3)")
        .execute(Tuple.of(minted.publicId(), new KeyHasher(TestServices.PEPPER).hash(minted.secret()), org)).await();
    long created = System.nanoTime();
    // Polled every 100 ms: each refusal counts as a failure of this address, and the limit must not trip.
    while (models(minted.fullKey(), null).statusCode() != 200) {
      assertTrue(System.nanoTime() - created < 1_000_000_000L, "the new key still refused after 1 s");
      Thread.sleep(100);
    }
  }
}
