package ai.gpt.api.metering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.auth.ApiKeyFormat;
import ai.gpt.api.billing.Money;
import ai.gpt.api.db.Database;
import ai.gpt.api.limits.Bucket;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.limits.ScopeBuckets;
import ai.gpt.api.limits.Window;
import ai.gpt.api.proxy.RequestPreparer;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.TcpProxy;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.testing.UsageDebits;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The metered path end to end: a real gateway (admission and settlement Lua scripts in Redis, the usage writer
 * into PostgreSQL) in front of a fake llama.cpp, checked against what reaches the ledger.
 */
@ExtendWith(VertxExtension.class)
class MeteredPathTest {
  /** gpt-fast's prices (sql/V001__core.sql), micro-USD per 1M tokens. */
  private static final long IN_PRICE = 250_000;
  private static final long OUT_PRICE = 500_000;
  private static final long POLL_MS = 25_000;

  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private TcpProxy proxy;
  private HttpClient raw;
  private WebClient burst;
  private Redis redis;

  @AfterEach
  void tearDown() {
    if (raw != null) {
      raw.close().await();
    }
    if (burst != null) {
      burst.close();
    }
    if (redis != null) {
      redis.close().await();
    }
    if (gw != null) {
      gw.close();
    }
    if (fake != null) {
      fake.close().await();
    }
    if (proxy != null) {
      proxy.close().await();
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  @Test
  @DisplayName("a stream cut by the client mid-way is billed for what was relayed, once")
  void clientCutsStream(Vertx vertx) {
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().tokenDelayMs(40)).await();
    gw = GatewayHarness.start(vertx);
    gw.addBackend("gpt-fast", fake);
    String key = gw.createKey();
    long org = gw.orgOf(key);
    JsonObject body = chat("Tell me a very long story about a fox.", true, 2_000);
    long promptEstimate = promptEstimate(body);

    raw = vertx.createHttpClient();
    AtomicInteger contentEvents = new AtomicInteger();
    StringBuilder received = new StringBuilder();
    HttpClientRequest request = raw.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
        .setPort(gw.port()).setURI("/v1/chat/completions")
        .putHeader("authorization", "Bearer " + key).putHeader("content-type", "application/json")).await();
    var response = request.send(body.toBuffer()).onSuccess(resp -> resp.handler(chunk -> {
      // Runs on the client's event loop only; counts complete SSE events carrying a token.
      received.append(chunk.toString());
      int end;
      while ((end = received.indexOf("\n\n")) >= 0) {
        String event = received.substring(0, end);
        received.delete(0, end + 2);
        if (event.contains("\"content\":\"")) {
          contentEvents.incrementAndGet();
        }
      }
    })).await();
    assertEquals(200, response.statusCode());
    String requestId = response.getHeader("x-request-id");
    assertNotNull(requestId);

    GatewayHarness.awaitTrue("a few content chunks", () -> contentEvents.get() >= 5);
    int seenBeforeCut = contentEvents.get();
    request.reset().await(); // HTTP/1.1: the connection is closed under the gateway's feet
    assertTrue(seenBeforeCut < 2_000, "the stream was cut before its end");

    GatewayHarness.awaitTrue("the backend saw the upstream request closed",
        () -> fake.cancelledCount() == 1 && fake.inFlight() == 0);
    Row row = pollRow("usage row of " + requestId,
        "SELECT * FROM usage WHERE request_id = $1", Tuple.of(requestId));
    assertEquals(1, count("SELECT count(*) FROM usage WHERE request_id = $1", Tuple.of(requestId)));
    assertEquals(org, row.getLong("org_id"));
    assertEquals(499, row.getInteger("status"), "client closed request");
    assertTrue(row.getBoolean("estimated"), "cut before llama.cpp's usage chunk: the count is an estimate");
    int completion = row.getInteger("completion_tokens");
    int prompt = row.getInteger("prompt_tokens");
    // Billed per relayed chunk: at least what the client had read, at most that plus what was in flight.
    assertTrue(completion >= seenBeforeCut && completion <= seenBeforeCut + 3,
        "completion_tokens " + completion + ", client had read " + seenBeforeCut);
    assertEquals(promptEstimate, prompt, "prompt billed at the gateway's estimate");
    long cost = Money.requestCost(prompt, completion, IN_PRICE, OUT_PRICE);
    assertEquals(cost, row.getLong("cost_micros"));
    assertTrue(cost > 0);
    assertDebitedOnce(org, requestId, cost);

    sleep(1_500); // a late second settlement (e.g. from a later exception or end handler) would show up now
    assertEquals(1, count("SELECT count(*) FROM usage WHERE org_id = $1", Tuple.of(org)), "billed once");
    assertEquals(1, count("SELECT count(*) FROM credit_ledger WHERE org_id = $1 AND kind = 'debit'",
        Tuple.of(org)), "debited once");
    assertEquals(GatewayHarness.DEFAULT_CREDIT_MICROS - cost, gw.ledgerBalance(org));
    assertEquals(GatewayHarness.DEFAULT_CREDIT_MICROS - cost, hotBalance(vertx, org),
        "the hot balance was charged exactly once too");
    assertEquals(0, heldTotal(vertx, org), "the hold was released");
    assertEquals(1, fake.requestCount());
  }

  // ---------------------------------------------------------------------------------------------------------

  @Test
  @DisplayName("200 concurrent requests against a balance that covers N holds: at least N served, the rest 402, "
      + "ledger exact, never below zero")
  void concurrentRequestsAgainstExactBalance(Vertx vertx) {
    final int n = 37;
    final int total = 200;
    final int maxTokens = 100;
    // 8 slots and ~100 ms per answer: the admitted requests queue in the gateway and overlap with admissions.
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(8).tokenDelayMs(1)).await();
    gw = GatewayHarness.start(vertx, Map.of("QUEUE_SIZE", "1000"));
    gw.addBackend("gpt-fast", fake);

    JsonObject body = chat("Hello!", false, maxTokens);
    long hold = Money.requestCost(promptBound(body), maxTokens, IN_PRICE, OUT_PRICE);
    long fakePrompt = "Hello!".length() / 4 + 10;
    long cost = Money.requestCost(fakePrompt, maxTokens, IN_PRICE, OUT_PRICE);
    assertTrue(cost < hold, "test premise: the hold covers the charge with room to spare");

    // Calibrate: the hold is exactly `hold`, the prompt's bound (credit `hold` is admitted, `hold - 1` is not).
    String exact = keyWithCredit("calibrate-exact", hold);
    HttpResponse<Buffer> ok = gw.post("/v1/chat/completions", exact, body);
    assertEquals(200, ok.statusCode(), ok.bodyAsString());
    JsonObject usage = ok.bodyAsJsonObject().getJsonObject("usage");
    assertEquals(fakePrompt, usage.getLong("prompt_tokens"));
    assertEquals(maxTokens, usage.getInteger("completion_tokens"));
    assertEquals(0, Money.toUsd(cost).compareTo(new java.math.BigDecimal(usage.getValue("cost").toString())));
    String short1 = keyWithCredit("calibrate-short", hold - 1);
    HttpResponse<Buffer> refused = gw.post("/v1/chat/completions", short1, body);
    assertEquals(402, refused.statusCode(), refused.bodyAsString());

    long credit = n * hold;
    String key = keyWithCredit("exact-n", credit);
    long org = gw.orgOf(key);
    burst = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(gw.port())
        .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(total));
    List<Future<HttpResponse<Buffer>>> sent = new ArrayList<>();
    for (int i = 0; i < total; i++) {
      sent.add(burst.post("/v1/chat/completions").bearerTokenAuthentication(key).sendJsonObject(body));
    }
    Future.join(sent).await();

    Map<Integer, Integer> byStatus = new HashMap<>();
    Set<String> served = new HashSet<>();
    Set<String> rejected = new HashSet<>();
    for (Future<HttpResponse<Buffer>> f : sent) {
      assertTrue(f.succeeded(), () -> "request failed: " + f.cause());
      HttpResponse<Buffer> r = f.result();
      byStatus.merge(r.statusCode(), 1, Integer::sum);
      String id = r.getHeader("x-request-id");
      if (r.statusCode() == 200) {
        served.add(id);
        assertEquals(maxTokens, r.bodyAsJsonObject().getJsonObject("usage").getInteger("completion_tokens"));
      } else if (r.statusCode() == 402) {
        rejected.add(id);
        assertEquals("insufficient_quota", r.bodyAsJsonObject().getJsonObject("error").getString("type"),
            r.bodyAsString());
      }
    }
    assertTrue(byStatus.keySet().stream().allMatch(s -> s == 200 || s == 402), "only 200 and 402: " + byStatus);
    int served200 = byStatus.getOrDefault(200, 0);
    // A request is refused only while the others' holds and charges leave less than a hold, each at most a hold:
    // so at least N are served; settlements give back hold - cost, so a few more may be.
    assertTrue(served200 >= n, "the credit covers N holds: " + byStatus);
    assertTrue(served200 <= credit / cost, "never more than the credit pays for: " + byStatus);
    assertTrue(byStatus.getOrDefault(402, 0) > 0, "the credit ran out: " + byStatus);
    assertEquals(total, served200 + byStatus.getOrDefault(402, 0), byStatus.toString());
    assertEquals(served200, fake.requestCount() - 1, "refused requests never reached the backend (1 = calibration)");

    awaitCount("usage rows of the burst", served200, () -> gw.usageRows(org));
    sleep(500); // anything late (a double write) would land now
    assertEquals(served200, gw.usageRows(org));
    Map<String, Long> rows = usageCountByRequest(org);
    assertEquals(served, rows.keySet(), "a usage row for each served request, and only those");
    assertTrue(rows.values().stream().allMatch(c -> c == 1), "one row per request: " + rows);
    assertTrue(rejected.stream().noneMatch(rows::containsKey), "402s are not billed");
    assertEquals(List.of(), texts(UsageDebits.MISMATCHED), "each day's debit is the cost of its usage rows");
    long billed = count("SELECT COALESCE(sum(cost_micros), 0) FROM usage WHERE org_id = $1", Tuple.of(org));
    assertEquals(served200 * cost, billed);
    long balance = gw.ledgerBalance(org);
    assertEquals(credit - billed, balance, "ledger = credit - usage, exactly");
    assertTrue(balance >= 0, "a charge never exceeds its hold, so the credit is never overdrawn: " + balance);
    assertEquals(balance, hotBalance(vertx, org), "Redis hot balance agrees with the ledger");
    assertEquals(0, heldTotal(vertx, org), "every hold was released");
  }

  @Test
  @DisplayName("concurrent requests whose prompts count more tokens than the characters / 4 estimate: each hold "
      + "covers its charge, so the balance is never overdrawn")
  void holdsCoverPromptsBeyondTheEstimate(Vertx vertx) {
    // The fake counts an embedding input as characters / 4 + 1 tokens: one more than the gateway's estimate, which
    // at $0.05 per 1M tokens turns a 2-micro-USD estimate into a 3-micro-USD charge. All requests are in flight at
    // once (200 ms each), so a hold sized by the estimate would admit credit / 2 of them and overdraw by half.
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().embeddings(true).tokenDelayMs(200)).await();
    gw = GatewayHarness.start(vertx, Map.of("QUEUE_SIZE", "1000"));
    gw.addBackend("embed", fake);
    final int total = 60;
    final long credit = 100;
    JsonObject body = new JsonObject().put("model", "embed").put("input", "word ".repeat(32));
    String key = keyWithCredit("beyond-estimate", credit);
    long org = gw.orgOf(key);
    burst = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(gw.port())
        .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(total));
    List<Future<HttpResponse<Buffer>>> sent = new ArrayList<>();
    for (int i = 0; i < total; i++) {
      sent.add(burst.post("/v1/embeddings").bearerTokenAuthentication(key).sendJsonObject(body));
    }
    Future.join(sent).await();
    int served = 0;
    for (Future<HttpResponse<Buffer>> f : sent) {
      assertTrue(f.succeeded(), () -> "request failed: " + f.cause());
      int status = f.result().statusCode();
      assertTrue(status == 200 || status == 402, "200 or 402: " + status + " " + f.result().bodyAsString());
      served += status == 200 ? 1 : 0;
    }
    assertTrue(served > 0, "some were served");
    int servedRequests = served;
    awaitCount("usage rows", servedRequests, () -> gw.usageRows(org));
    long billed = count("SELECT COALESCE(sum(cost_micros), 0) FROM usage WHERE org_id = $1", Tuple.of(org));
    assertEquals(served * 3L, billed, "41 tokens at $0.05 per 1M, rounded up: 3 micro-USD each");
    long balance = gw.ledgerBalance(org);
    assertEquals(credit - billed, balance);
    assertTrue(balance >= 0, "never overdrawn: " + served + " served, balance " + balance);
    assertEquals(0, heldTotal(vertx, org), "every hold was released");
  }

  // ---------------------------------------------------------------------------------------------------------

  @Test
  @DisplayName("a busy key's burst is admitted from allotments and its usage handed to the writer in memory: each "
      + "request billed once, every allotment given back")
  void burstFromAllotments(Vertx vertx) {
    final int total = 600;
    final int maxTokens = 16;
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(64)).await();
    gw = GatewayHarness.start(vertx);
    gw.addBackend("gpt-fast", fake);
    long credit = 100_000_000;
    String key = keyWithCredit("allotments", credit);
    long org = gw.orgOf(key);
    JsonObject body = chat("Hello!", false, maxTokens);
    long cost = Money.requestCost("Hello!".length() / 4 + 10, maxTokens, IN_PRICE, OUT_PRICE);

    long start = System.currentTimeMillis();
    burst = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(gw.port())
        .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(32));
    List<Future<HttpResponse<Buffer>>> sent = new ArrayList<>();
    for (int i = 0; i < total; i++) {
      sent.add(burst.post("/v1/chat/completions").bearerTokenAuthentication(key).sendJsonObject(body));
    }
    Future.join(sent).await();
    for (Future<HttpResponse<Buffer>> f : sent) {
      assertEquals(200, f.result().statusCode(), f.result().bodyAsString());
      assertNotNull(f.result().getHeader("x-ratelimit-remaining-requests"), "rate-limit headers on every answer");
    }
    double fromAllotments = gw.metrics().lines()
        .filter(l -> l.startsWith("gptapi_admissions_total{") && l.contains("source=\"allotment\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    assertTrue(fromAllotments > total / 2.0, "most of the burst came from allotments: " + fromAllotments);
    GatewayHarness.awaitTrue("every event handed to the writer in memory, none copied to a usage stream",
        () -> metric("gptapi_usage_handed_off_total") == total);

    awaitCount("usage rows of the burst", total, () -> gw.usageRows(org));
    sleep(500);
    assertEquals(total, gw.usageRows(org));
    assertTrue(usageCountByRequest(org).values().stream().allMatch(c -> c == 1), "one row per request");
    assertEquals(List.of(), texts(UsageDebits.MISMATCHED), "each day's debit is the cost of its usage rows");
    assertEquals(total * cost, count("SELECT COALESCE(sum(cost_micros), 0) FROM usage WHERE org_id = $1",
        Tuple.of(org)));
    assertEquals(credit - total * cost, gw.ledgerBalance(org), "ledger = credit - usage, exactly");
    assertEquals(credit - total * cost, hotBalance(vertx, org), "Redis hot balance agrees with the ledger");

    // Allotments end once their requests settled and they are used up or a second old.
    GatewayHarness.awaitTrue("every allotment ended", () -> heldTotal(vertx, org) == 0
        && redis.send(Request.cmd(Command.ZCARD).arg(RedisKeys.concurrency(org, keyId(key)))).await().toLong() == 0);
    Response hold = redis.send(Request.cmd(Command.HKEYS).arg(RedisKeys.holds(org))).await();
    hold.forEach(field -> assertTrue(field.toString().startsWith("_"), "no hold left: " + field));
    // What the allotments did not use went back: the day's request bucket lost exactly one per request (plus
    // what refilled meanwhile, 1,000,000 a day: about 11.6 a second).
    Response packed = redis.send(Request.cmd(Command.GET).arg(RedisKeys.limits(org, keyId(key),
        Bucket.Scope.ORG))).await();
    long now = System.currentTimeMillis();
    double level = ScopeBuckets.decode(packed.toBytes()).level(new Bucket(Bucket.Scope.ORG, Bucket.Kind.REQUESTS,
        Window.DAY), 1_000_000, Window.DAY.defaultMillis(), now);
    double refilled = (now - start) * 1_000_000.0 / Window.DAY.defaultMillis();
    assertTrue(level >= 1_000_000 - total - 0.001 && level <= 1_000_000 - total + refilled + 1,
        "day bucket " + level + " after " + total + " requests, " + refilled + " refilled");
  }

  private long keyId(String fullKey) {
    return gw.pool().preparedQuery("SELECT id FROM api_keys WHERE public_id = $1")
        .execute(Tuple.of(ApiKeyFormat.parse(fullKey).publicId())).await().iterator().next().getLong(0);
  }

  // ---------------------------------------------------------------------------------------------------------

  @Test
  @DisplayName("PostgreSQL stopped during load: requests are served, and their rows appear once, after it returns")
  void postgresDownDuringLoad(Vertx vertx) {
    PgConnectOptions pg = Database.connectOptions(TestServices.DATABASE_URL);
    proxy = TcpProxy.start(vertx, pg.getHost(), pg.getPort()).await();
    String viaProxy = "postgresql://" + pg.getUser()
        + (pg.getPassword() == null || pg.getPassword().isEmpty() ? "" : ":" + pg.getPassword())
        + "@127.0.0.1:" + proxy.port() + "/" + pg.getDatabase();
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(16).tokenDelayMs(2)).await();
    gw = GatewayHarness.start(vertx, Map.of("DATABASE_URL", viaProxy, "QUEUE_SIZE", "1000"));
    gw.addBackend("gpt-fast", fake);
    String key = keyWithCredit("pg-outage", GatewayHarness.DEFAULT_CREDIT_MICROS);
    long org = gw.orgOf(key);

    // Warm up: the key gets cached and the balance loaded into Redis, both from PostgreSQL.
    int warmup = 3;
    for (int i = 0; i < warmup; i++) {
      HttpResponse<Buffer> r = gw.post("/v1/chat/completions", key, chat("warm up " + i, i % 2 == 1, 8));
      assertEquals(200, r.statusCode(), r.bodyAsString());
    }
    awaitCount("warm-up rows", warmup, () -> gw.usageRows(org));

    proxy.cut();
    burst = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(gw.port())
        .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(100));
    int total = 100;
    List<Future<HttpResponse<Buffer>>> sent = new ArrayList<>();
    List<Boolean> streamed = new ArrayList<>();
    for (int i = 0; i < total; i++) {
      if (i > 0 && i % 25 == 0) {
        sleep(150); // four waves, so the outage spans the load
      }
      boolean stream = i % 3 == 0;
      streamed.add(stream);
      sent.add(burst.post("/v1/chat/completions").bearerTokenAuthentication(key)
          .sendJsonObject(chat("load " + i, stream, 10 + i % 7)));
    }
    Future.join(sent).await();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < total; i++) {
      Future<HttpResponse<Buffer>> f = sent.get(i);
      assertTrue(f.succeeded(), "request " + i + " failed: " + f.cause());
      HttpResponse<Buffer> r = f.result();
      assertEquals(200, r.statusCode(), "request " + i + " while PostgreSQL is down: " + r.bodyAsString());
      if (streamed.get(i)) {
        String sse = r.bodyAsString();
        assertTrue(sse.endsWith("data: [DONE]\n\n"), "stream " + i + " complete: " + sse);
        assertFalse(sse.contains("\"error\""), "stream " + i + " had an error event: " + sse);
      }
      ids.add(r.getHeader("x-request-id"));
    }
    assertEquals(total, new HashSet<>(ids).size(), "distinct request ids");
    sleep(300);
    assertEquals(warmup, gw.usageRows(org), "nothing reaches PostgreSQL while it is cut off");
    GatewayHarness.awaitTrue("the usage writer noticed the outage",
        () -> metric("gptapi_usage_write_failures_total") > 0);

    proxy.restore();
    // And the gateway keeps serving (and billing) once it is back.
    int after = 5;
    for (int i = 0; i < after; i++) {
      HttpResponse<Buffer> r = gw.post("/v1/chat/completions", key, chat("after " + i, i % 2 == 0, 8));
      assertEquals(200, r.statusCode(), r.bodyAsString());
      ids.add(r.getHeader("x-request-id"));
    }
    total += after;
    awaitCount("usage rows after PostgreSQL returned", warmup + total, () -> gw.usageRows(org));
    sleep(1_000); // let any duplicate delivery land
    Map<String, Long> rows = usageCountByRequest(org);
    assertEquals(warmup + total, rows.size());
    for (String id : ids) {
      assertEquals(1L, rows.get(id), "exactly one usage row for " + id);
    }
    // Each request's cost is in its day's debit exactly once: the debit is the sum of the usage rows' costs.
    assertEquals(List.of(), texts(UsageDebits.MISMATCHED), "each day's debit is the cost of its usage rows");
    assertEquals(List.of(), texts(UsageDebits.UNDEBITED), "every paid usage day has its debit");
    assertEquals(warmup + total, gw.usageRows(org), "no duplicates");
    assertEquals(total, count("SELECT count(*) FROM usage WHERE org_id = $1 AND request_id = ANY($2) "
        + "AND status = 200 AND NOT estimated", Tuple.tuple().addLong(org).addArrayOfString(ids.toArray(new String[0]))),
        "every request billed from llama.cpp's own usage");
    long billed = count("SELECT COALESCE(sum(cost_micros), 0) FROM usage WHERE org_id = $1", Tuple.of(org));
    long balance = gw.ledgerBalance(org);
    assertEquals(GatewayHarness.DEFAULT_CREDIT_MICROS - billed, balance);
    assertEquals(balance, hotBalance(vertx, org), "Redis hot balance agrees with the ledger");
    assertEquals(0, heldTotal(vertx, org), "every hold was released");
    assertEquals(0, count("SELECT count(*) FROM usage_rejects", Tuple.tuple()));
  }

  // ---------------------------------------------------------------------------------------------------------

  private static JsonObject chat(String content, boolean stream, int maxTokens) {
    return new JsonObject().put("model", "gpt-fast").put("stream", stream).put("max_tokens", maxTokens)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", content)));
  }

  /** As RequestPreparer.promptBound: the body's bytes as sent, plus what a chat template may add. */
  private static long promptBound(JsonObject body) {
    return body.toBuffer().length() + RequestPreparer.TEMPLATE_TOKENS;
  }

  /** As RequestPreparer.estimatePrompt: characters of the input's JSON / 4, at least 1. */
  private static long promptEstimate(JsonObject chatBody) {
    return Math.max(1, chatBody.getJsonArray("messages").encode().length() / 4);
  }

  /** A key of a fresh organization with this credit and limits high enough for a burst. */
  private String keyWithCredit(String name, long credit) {
    long org = gw.createOrg(name, credit);
    gw.pool().preparedQuery("UPDATE organizations SET rpm = 1000000, rph = 1000000, rpd = 1000000, "
        + "tpm = 1000000000, tph = 1000000000, tpd = 1000000000, concurrency = 10000 WHERE id = $1")
        .execute(Tuple.of(org)).await();
    return gw.createKey(org, null);
  }

  private long count(String sql, Tuple args) {
    return gw.pool().preparedQuery(sql).execute(args).await().iterator().next().getLong(0);
  }

  private Map<String, Long> usageCountByRequest(long org) {
    Map<String, Long> out = new HashMap<>();
    gw.pool().preparedQuery("SELECT request_id, count(*) AS n FROM usage WHERE org_id = $1 GROUP BY request_id")
        .execute(Tuple.of(org)).await().forEach(r -> out.put(r.getString("request_id"), r.getLong("n")));
    return out;
  }

  /** One usage row of that cost, its id guarded, and its cost in its day's debit (the only usage of the test). */
  private void assertDebitedOnce(long org, String requestId, long cost) {
    assertEquals(1, count("SELECT count(*) FROM usage WHERE request_id = $1 AND org_id = $2 AND cost_micros = $3",
        Tuple.of(requestId, org, cost)), "one usage row of that cost for " + requestId);
    assertEquals(1, count("SELECT count(*) FROM usage_requests WHERE request_id = $1", Tuple.of(requestId)));
    assertEquals(List.of(), texts(UsageDebits.MISMATCHED), "the day's debit is the cost of its usage rows");
    assertEquals(List.of(), texts(UsageDebits.UNDEBITED), "the request's day has its debit");
  }

  private List<String> texts(String sql) {
    List<String> out = new ArrayList<>();
    gw.pool().query(sql).execute().await().forEach(r -> out.add(r.getString(0)));
    return out;
  }

  private Row pollRow(String what, String sql, Tuple args) {
    long deadline = System.currentTimeMillis() + POLL_MS;
    while (true) {
      RowSet<Row> rows = gw.pool().preparedQuery(sql).execute(args).await();
      if (rows.size() > 0) {
        return rows.iterator().next();
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("Timed out waiting for " + what);
      }
      sleep(50);
    }
  }

  private static void awaitCount(String what, long expected, LongSupplier actual) {
    long deadline = System.currentTimeMillis() + POLL_MS;
    long last;
    while ((last = actual.getAsLong()) < expected) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("Timed out waiting for " + what + ": " + last + " of " + expected);
      }
      sleep(50);
    }
    assertEquals(expected, last, what);
  }

  /** The organization's hot balance in Redis (micro-USD). */
  private long hotBalance(Vertx vertx, long org) {
    if (redis == null) {
      redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    }
    Response v = redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(org))).await();
    assertNotNull(v, "hot balance of org " + org + " is in Redis");
    return v.toLong();
  }

  /** The sum of the organization's outstanding credit holds in Redis (0 when none). */
  private long heldTotal(Vertx vertx, long org) {
    hotBalance(vertx, org); // creates the client
    Response v = redis.send(Request.cmd(Command.HGET).arg(RedisKeys.holds(org)).arg("_total")).await();
    return v == null ? 0 : v.toLong();
  }

  /** Sum over every series of a counter on the gateway's /metrics. */
  private double metric(String name) {
    return gw.metrics().lines().filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms); // test thread, not an event loop
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
