package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Thousands of slow streams opened in the same instant by one client through one gateway: local overload must
 * never look like a dependency outage. Every stream completes (or is refused with 503 gateway_overloaded and
 * Retry-After), metering never declares Redis down, and the backend is never quarantined.
 *
 * <p>Sized for a 20,000 open-file limit: this JVM holds all four sockets of each stream (client, gateway's server
 * side, gateway's upstream side, the fake's server side), so 3,000 streams take about 12,000 descriptors.
 */
@ExtendWith(VertxExtension.class)
class BurstTest {
  private static final int STREAMS = 3_000;
  private static final int TOKENS = 5;
  /** Each stream lasts TOKENS * TOKEN_DELAY_MS = 6 s, so most of them are open at the same time. */
  private static final long TOKEN_DELAY_MS = 1_200;

  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private HttpClient client;

  @AfterEach
  void tearDown() {
    if (client != null) {
      client.close().await();
    }
    if (gw != null) {
      gw.close();
    }
    if (fake != null) {
      fake.close().await();
    }
  }

  @Test
  @DisplayName("3,000 slow streams opened at once: all served, Redis never declared down, no backend quarantined")
  void burstOfStreams(Vertx vertx) {
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(STREAMS).tokenDelayMs(TOKEN_DELAY_MS))
        .await();
    // Every stream holds an upstream connection: the pool (per event loop) must hold them all. /slots of a
    // 3,000-slot fake is megabytes of JSON, so the health checker polls it less often than other tests.
    gw = GatewayHarness.start(vertx, Map.of("UPSTREAM_POOL_SIZE", String.valueOf(STREAMS),
        "HEALTH_INTERVAL_MS", "2000"));
    long backend = gw.addBackend("gpt-fast", fake);
    long org = gw.createOrg("burst");
    gw.pool().preparedQuery("UPDATE organizations SET rpm = 1000000, rph = 1000000, rpd = 1000000, "
        + "tpm = 1000000000, tph = 1000000000, tpd = 1000000000, concurrency = 100000 WHERE id = $1")
        .execute(Tuple.of(org)).await();
    String key = gw.createKey(org, null);
    Buffer body = new JsonObject().put("model", "gpt-fast").put("stream", true).put("max_tokens", TOKENS)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hi"))).toBuffer();

    client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(gw.port())
        .setConnectTimeout(30_000), new PoolOptions().setHttp1MaxSize(STREAMS));
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    long heapBefore = heapAfterGc(memory);

    AtomicInteger headers = new AtomicInteger();
    List<Future<Outcome>> outcomes = new ArrayList<>(STREAMS);
    long start = System.nanoTime();
    for (int i = 0; i < STREAMS; i++) {
      outcomes.add(open(key, body, headers));
    }
    GatewayHarness.awaitTrue("every stream answered its headers", 30_000, () -> headers.get() == STREAMS);
    long headersMs = (System.nanoTime() - start) / 1_000_000;
    int open = fake.inFlight();
    long heapOpen = heapAfterGc(memory);
    Future.join(outcomes).await();
    long totalMs = (System.nanoTime() - start) / 1_000_000;

    Map<String, Integer> byOutcome = new TreeMap<>();
    for (Future<Outcome> f : outcomes) {
      assertTrue(f.succeeded(), () -> "a stream failed at the client: " + f.cause());
      Outcome o = f.result();
      byOutcome.merge(o.status + (o.code == null ? "" : " " + o.code), 1, Integer::sum);
      if (o.status == 200) {
        assertTrue(o.body.endsWith("data: [DONE]\n\n"), "a complete stream: " + o.body);
        assertTrue(!o.body.contains("\"error\""), "no error event: " + o.body);
      } else {
        // Refused as this gateway's own overload: retryable, never an outage or the client's rate limit.
        assertEquals(503, o.status, o.body);
        assertEquals("gateway_overloaded", o.code, o.body);
        assertNotNull(o.retryAfter, "Retry-After on a refusal");
      }
    }
    int served = byOutcome.getOrDefault("200", 0);
    System.out.printf("BurstTest: %d streams, outcomes %s, all headers in %d ms, all done in %d ms, %d open at the "
        + "backend at once; heap after GC %d MB idle, %d MB with the streams open: %.1f KB per open stream (client, "
        + "gateway and fake in one JVM)%n", STREAMS, byOutcome, headersMs, totalMs, open, heapBefore >> 20,
        heapOpen >> 20, (heapOpen - heapBefore) / 1024.0 / STREAMS);
    // This machine's two cores are shared: how many are served depends on the CPU this JVM gets (a warm gateway
    // alone on them serves all of them), but most must be, and none refused for anything but overload.
    assertTrue(served >= STREAMS / 2, "most of the burst is served: " + byOutcome);

    String metrics = gw.metrics();
    assertTrue(metrics.contains("gptapi_metering_redis_down 0.0"), "Redis never declared down");
    assertTrue(metrics.contains("gptapi_metering_redis_incidents_total 0.0"), "no Redis incident");
    assertTrue(metrics.lines().noneMatch(l -> l.startsWith("gptapi_backend_quarantines_total")
        && !l.endsWith(" 0.0")), "no backend quarantined");
    assertTrue(gw.backendHealthy(backend), "the backend stays in rotation");
    GatewayHarness.awaitTrue("every served stream billed", 60_000, () -> count(org, "status = 200") >= served);
    assertEquals(served, count(org, "status = 200"), "each served stream billed once");
    // An admission whose reply came too late may have taken a hold in Redis: it is settled for nothing (status
    // 503, no cost), which releases the hold. Nothing refused is charged.
    assertEquals(0, count(org, "status <> 200 AND cost_micros <> 0"), "refusals cost nothing");
    assertEquals(gw.usageRows(org), gw.pool().preparedQuery("SELECT count(DISTINCT request_id) FROM usage "
        + "WHERE org_id = $1").execute(Tuple.of(org)).await().iterator().next().getLong(0), "one row per request");
  }

  private long count(long org, String where) {
    return gw.pool().preparedQuery("SELECT count(*) FROM usage WHERE org_id = $1 AND " + where)
        .execute(Tuple.of(org)).await().iterator().next().getLong(0);
  }

  private record Outcome(int status, String code, String retryAfter, String body) {}

  private Future<Outcome> open(String key, Buffer body, AtomicInteger headers) {
    Promise<Outcome> done = Promise.promise();
    client.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/chat/completions")
            .putHeader("authorization", "Bearer " + key).putHeader("content-type", "application/json"))
        .compose(req -> req.send(body))
        .onFailure(done::fail)
        .onSuccess(resp -> {
          headers.incrementAndGet();
          resp.body().onFailure(done::fail).onSuccess(b -> {
            String text = b.toString();
            String code = null;
            if (resp.statusCode() != 200) {
              code = new JsonObject(text).getJsonObject("error").getString("code");
            }
            done.complete(new Outcome(resp.statusCode(), code, resp.getHeader("retry-after"), text));
          });
        });
    return done.future();
  }

  private static long heapAfterGc(MemoryMXBean memory) {
    System.gc();
    System.gc();
    return memory.getHeapMemoryUsage().getUsed();
  }
}
