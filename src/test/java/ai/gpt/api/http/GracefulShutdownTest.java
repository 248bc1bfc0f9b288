package ai.gpt.api.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.auth.ApiKeyFormat;
import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.db.Database;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayProcess;
import ai.gpt.api.testing.Sleep;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.testing.UsageQueues;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * SIGTERM to a gateway process (the production entry point, as Kubernetes stops a pod) while it relays streams:
 * /ready turns 503 at once, the port closes after SHUTDOWN_DELAY_SECONDS while the streams go on, every stream
 * and whole answer completes, the dying replica writes their usage itself, and the process exits with 0.
 */
@ExtendWith(VertxExtension.class)
class GracefulShutdownTest {
  private static final Path LOG = Path.of("target", "graceful-shutdown-test", "gateway.log");
  private static final int STREAMS = 24;
  private static final int WHOLE = 6;
  /** 60 tokens, 100 ms apart: each answer takes ≥ 6 s, far longer than the 1 s delay before the port closes. */
  private static final int TOKENS = 60;
  private static final long CREDIT_MICROS = 100_000_000L;

  private FakeLlamaServer fake;
  private Pool pool;
  private WebClient client;
  private GatewayProcess gateway;
  private Redis redis;

  @AfterEach
  void tearDown() {
    if (gateway != null) {
      gateway.close();
    }
    if (client != null) {
      client.close();
    }
    if (redis != null) {
      redis.close().await();
    }
    if (fake != null) {
      fake.close().await();
    }
    if (pool != null) {
      pool.close().await();
    }
  }

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES) // a JVM start and a drain on a busy 2-core machine
  @DisplayName("SIGTERM under streaming load: not ready at once, port closed after the delay, every stream and"
      + " answer completes and is billed once by the dying replica, exit status 0")
  void drainsOnSigterm(Vertx vertx) throws Exception {
    TestServices.ensureDatabase();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 2);
    pool.query("TRUNCATE backends, api_keys, organizations, credit_ledger, usage, usage_requests, usage_rejects "
        + "RESTART IDENTITY CASCADE").execute().await();
    TestServices.flushRedis(vertx);
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(STREAMS + WHOLE)
        .tokenDelayMs(100)).await();
    long org = one("INSERT INTO organizations (name, concurrency) VALUES ('drain', 1000) RETURNING id", Tuple.tuple());
    pool.preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key) "
        + "VALUES ($1, $2, 'credit', 'test', 'drain-credit')").execute(Tuple.of(org, CREDIT_MICROS)).await();
    ApiKeyFormat.Minted minted = ApiKeyFormat.mint();
    pool.preparedQuery("INSERT INTO api_keys (public_id, secret_hash, org_id) VALUES ($1, $2, $3)")
        .execute(Tuple.of(minted.publicId(), new KeyHasher(TestServices.PEPPER).hash(minted.secret()), org))
        .await();
    long backend = one("INSERT INTO backends (model_id, base_url, slots) VALUES ('gpt-fast', $1, $2) RETURNING id",
        Tuple.of(fake.baseUrl(), fake.slots()));

    Map<String, String> env = GatewayProcess.environment("drain-test");
    env.put("SHUTDOWN_DELAY_SECONDS", "1");
    env.put("SHUTDOWN_GRACE_SECONDS", "60");
    gateway = GatewayProcess.start(vertx, env, LOG, backend);
    client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(gateway.port()), new PoolOptions().setHttp1MaxSize(STREAMS + WHOLE));
    WebClient ops = WebClient.create(vertx);

    List<Future<HttpResponse<Buffer>>> answers = new ArrayList<>();
    for (int i = 0; i < STREAMS + WHOLE; i++) {
      boolean stream = i < STREAMS;
      JsonObject body = new JsonObject().put("model", "gpt-fast").put("stream", stream).put("max_tokens", TOKENS)
          .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "drain " + i)));
      if (stream) {
        body.put("stream_options", new JsonObject().put("include_usage", true));
      }
      answers.add(client.post("/v1/chat/completions").bearerTokenAuthentication(minted.fullKey())
          .sendJsonObject(body));
    }
    await("every request to reach the backend", () -> fake.inFlight() == STREAMS + WHOLE, 30_000);

    gateway.terminate();
    await("/ready to answer 503 draining", () -> readyStatus(ops) == 503, 10_000);
    await("the public port to refuse new connections", () -> !accepts(vertx), 15_000);
    assertTrue(answers.stream().anyMatch(a -> !a.isComplete()),
        "answers were still in flight when the port closed (else this tested nothing)");

    Set<String> requestIds = new HashSet<>();
    for (int i = 0; i < answers.size(); i++) {
      HttpResponse<Buffer> r = answers.get(i).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertEquals(200, r.statusCode(), r.bodyAsString());
      String text = r.bodyAsString();
      if (i < STREAMS) {
        assertTrue(text.strip().endsWith("data: [DONE]"), "stream " + i + " ended: " + tail(text));
        assertTrue(text.contains("\"completion_tokens\":" + TOKENS), "stream " + i + " has its usage");
      } else {
        assertEquals(TOKENS, r.bodyAsJsonObject().getJsonObject("usage").getInteger("completion_tokens"));
      }
      requestIds.add(r.getHeader("x-request-id"));
    }
    assertTrue(gateway.process().waitFor(90, TimeUnit.SECONDS), "the gateway exited");
    assertEquals(0, gateway.process().exitValue(), "exit status of a graceful stop:\n" + gateway.tail());

    // No other gateway runs: whatever is in PostgreSQL now, the dying replica wrote.
    assertEquals(0, UsageQueues.entries(redis), "nothing left in the usage streams");
    assertEquals(0, UsageQueues.outboxed(redis), "nor in the organizations' outboxes");
    assertEquals(requestIds.size(), one("SELECT count(*) FROM usage WHERE request_id = ANY($1)",
        Tuple.of(requestIds.toArray(String[]::new))), "one usage row per answer");
    assertEquals(STREAMS + WHOLE, one("SELECT count(*) FROM usage", Tuple.tuple()), "and no other");
    assertEquals(STREAMS + WHOLE, one("SELECT count(*) FROM usage_requests", Tuple.tuple()), "each id guarded once");
    long charged = one("SELECT SUM(cost_micros) FROM usage", Tuple.tuple());
    assertTrue(charged > 0);
    assertEquals(CREDIT_MICROS - charged,
        one("SELECT SUM(amount_micros) FROM credit_ledger WHERE org_id = $1", Tuple.of(org)));
    ops.close();
  }

  private int readyStatus(WebClient ops) {
    try {
      return ops.get(gateway.metricsPort(), "127.0.0.1", "/ready").send().await().statusCode();
    } catch (Exception gone) {
      return -1;
    }
  }

  /** Whether the public port takes a new connection (a fresh client, so no kept-alive connection is reused). */
  private boolean accepts(Vertx vertx) {
    WebClient fresh = WebClient.create(vertx, new WebClientOptions().setKeepAlive(false).setConnectTimeout(2000));
    try {
      fresh.get(gateway.port(), "127.0.0.1", "/health").send().await();
      return true;
    } catch (Exception refused) {
      return false;
    } finally {
      fresh.close();
    }
  }

  private long one(String sql, Tuple args) {
    return pool.preparedQuery(sql).execute(args).await().iterator().next().getLong(0);
  }

  private static String tail(String text) {
    return text.substring(Math.max(0, text.length() - 200));
  }

  private void await(String what, BooleanSupplier condition, long timeoutMs) {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("timed out waiting for " + what + ":\n" + gateway.tail());
      }
      Sleep.ms(50);
    }
  }
}
