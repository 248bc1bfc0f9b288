package ai.gpt.api.metering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.auth.ApiKeyFormat;
import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.db.Database;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.ChildJvm;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayProcess;
import ai.gpt.api.testing.Sleep;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.testing.UsageDebits;
import ai.gpt.api.testing.UsageQueues;
import ai.gpt.api.usage.UsageWriterSettings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A gateway process killed with SIGKILL in the middle of load, then started again: nothing the clients saw
 * served may go unbilled, and nothing may be billed twice.
 *
 * <p>The gateway runs as a separate JVM ({@code ai.gpt.api.Main serve}, the production entry point) so that the
 * kill is a real process death: no shutdown hook, no undeploy, no draining of the usage writer, sockets cut by
 * the kernel. The fake llama-server, the clients and the checks stay in the test JVM.
 */
@ExtendWith(VertxExtension.class)
class GatewayCrashTest {
  /** Consumer name of the usage writer, the same for both processes as for a restarted pod. */
  private static final String REPLICA = "crash-test";
  private static final long CREDIT_MICROS = 100_000_000L;
  /**
   * Concurrent clients, each with one request in flight at a time. More than the gateway's 16 pooled Redis
   * connections, as in production under load: admissions and settlements then wait for a connection, so the
   * kill finds work at every stage (admitted, relaying, settling, queued for the writer, being written).
   */
  private static final int CLIENTS = 64;
  /** Load runs at least this long, and on until {@link #TARGET_COMPLETED} requests completed or the cap. */
  private static final long LOAD_MS = 1_500;
  private static final long MAX_LOAD_MS = 8_000;
  private static final int TARGET_COMPLETED = 150;
  private static final long SETTLE_TIMEOUT_MS = 20_000;
  private static final Path LOG_DIR = Path.of("target", "gateway-crash-test");

  private final List<GatewayProcess> gateways = new ArrayList<>();
  private Vertx vertx;
  private FakeLlamaServer fake;
  private Pool pool;
  private WebClient client;

  @AfterEach
  void tearDown() throws InterruptedException {
    // Only the processes this test started, whatever happened to the test.
    gateways.forEach(GatewayProcess::close);
    if (client != null) {
      client.close();
    }
    if (fake != null) {
      fake.close().await();
    }
    if (pool != null) {
      pool.close().await();
    }
  }

  @Test
  // Beyond the default 90 s: an event whose copy to the usage stream the kill cut is written once the restarted
  // writer's outbox recovery judges it, after the grace period (30 s).
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  @DisplayName("kill -9 of the gateway process during load: after restart every request a client saw complete "
      + "has exactly one usage row and one ledger debit, none is duplicated, and the balance is exact")
  void killDuringLoad(Vertx vertx) throws Exception {
    this.vertx = vertx;
    // ---- a clean catalogue, as GatewayHarness prepares it --------------------------------------------------
    TestServices.ensureDatabase();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 4);
    pool.query("TRUNCATE backends, api_keys, organizations, credit_ledger, usage, usage_requests, usage_rejects "
        + "RESTART IDENTITY CASCADE").execute().await();
    TestServices.flushRedis(vertx); // organization ids restart, and the usage streams must start empty

    // A token delay keeps every request in flight for a few milliseconds, so the kill lands mid-request and
    // mid-stream; as many slots as clients so routing never queues.
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(CLIENTS).tokenDelayMs(1)).await();
    long org = one("INSERT INTO organizations (name) VALUES ('crash') RETURNING id", Tuple.tuple());
    // Limits far above the load: the default plan's 600 requests/min would refuse most of the burst, and a
    // refused request proves nothing about settlement.
    pool.preparedQuery("UPDATE organizations SET rpm = 1000000, rph = 1000000, rpd = 1000000, tpm = 1000000000, "
        + "tph = 1000000000, tpd = 1000000000, concurrency = 10000 WHERE id = $1").execute(Tuple.of(org)).await();
    pool.preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key) "
        + "VALUES ($1, $2, 'credit', 'test', 'crash-test-credit')").execute(Tuple.of(org, CREDIT_MICROS)).await();
    ApiKeyFormat.Minted minted = ApiKeyFormat.mint();
    pool.preparedQuery("INSERT INTO api_keys (public_id, secret_hash, org_id) VALUES ($1, $2, $3)")
        .execute(Tuple.of(minted.publicId(), new KeyHasher(TestServices.PEPPER).hash(minted.secret()), org))
        .await();
    String key = minted.fullKey();
    long backend = one("INSERT INTO backends (model_id, base_url, slots) VALUES ('gpt-fast', $1, $2) RETURNING id",
        Tuple.of(fake.baseUrl(), fake.slots()));

    // ---- first gateway process, under load, killed ----------------------------------------------------------
    GatewayProcess first = startGateway(1, backend);
    client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(first.port())
        .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(CLIENTS));
    // Request id -> when the client had the whole answer (System.nanoTime) and whether it was a stream.
    Map<String, Completion> completedAt = new ConcurrentHashMap<>();
    Set<String> completed = completedAt.keySet();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger failed = new AtomicInteger();
    List<Future<Void>> loops = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      Promise<Void> done = Promise.promise();
      int id = c;
      vertx.runOnContext(v -> clientLoop(id, 0, key, stop, completedAt, failed, done));
      loops.add(done.future());
    }
    // A fresh JVM on a small machine serves slowly until its JIT warms up, so load is measured in completed
    // requests rather than only in time.
    long loadStart = System.currentTimeMillis();
    while (System.currentTimeMillis() - loadStart < LOAD_MS
        || (completed.size() < TARGET_COMPLETED && System.currentTimeMillis() - loadStart < MAX_LOAD_MS)) {
      Sleep.ms(25);
    }
    int completedBeforeKill = completed.size();
    // SIGKILL: no shutdown hook runs, nothing is flushed. The exit status checked below confirms it.
    long killedAt = System.nanoTime();
    int exit = first.kill();
    // Only now stop the clients: at the moment of the kill every client had a request in flight.
    stop.set(true);
    assertEquals(ChildJvm.KILLED_BY_SIGKILL, exit, "the gateway died of SIGKILL");
    Future.join(new ArrayList<>(loops)).await();
    Set<String> seen = Set.copyOf(completed); // final: no client is running any more
    assertTrue(failed.get() > 0, "the kill cut requests in flight (else it tested a quiet gateway)");
    assertTrue(seen.size() > 50, "enough requests completed before the kill to mean something: " + seen.size());
    Redis redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    try {
      // For the record: how much the restarted writer has to pick up (pending = read by the dead one, unacked).
      long pendingAtKill = UsageQueues.pending(redis);
      long unreadAtKill = UsageQueues.entries(redis) - pendingAtKill;
      System.out.printf("GatewayCrashTest: %d requests completed in %d ms (%d before SIGKILL was sent), %d cut by "
          + "the kill; usage events the dead writer left pending: %d, unread: %d%n", seen.size(),
          System.currentTimeMillis() - loadStart, completedBeforeKill, failed.get(), pendingAtKill, unreadAtKill);

      // ---- restart: the same replica name re-reads what the dead writer had read but not acknowledged -----
      GatewayProcess second = startGateway(2, backend);

      // ---- every request a client saw complete is billed exactly once --------------------------------------
      // The writer deletes a stream entry and its outbox entry only after its row and debit committed: once the
      // streams and the outboxes are empty, everything the dead gateway settled is in PostgreSQL, and whatever is
      // still missing will never come. An event whose copy to the usage stream the kill prevented waits in its
      // org's outbox until the new writer's outbox recovery copies it, once older than the grace period.
      awaitTrue("the new gateway's usage writer to empty the usage streams and the outboxes",
          SETTLE_TIMEOUT_MS + UsageWriterSettings.defaults().outboxGraceMs(),
          () -> UsageQueues.entries(redis) == 0 && UsageQueues.pending(redis) == 0 && UsageQueues.outboxed(redis) == 0,
          first, second);

      Map<String, Long> rows = countBy("SELECT request_id, count(*) FROM usage GROUP BY request_id");
      // Nothing billed twice, for ANY request id: also those settled but cut before their client saw the end,
      // and those the dead writer had committed but not acknowledged (the new one replays them).
      Map<String, Long> duplicated = new TreeMap<>();
      rows.forEach((id, n) -> {
        if (n > 1) {
          duplicated.put("usage " + id, n);
        }
      });
      assertEquals(Map.of(), duplicated, "request ids billed more than once");
      // Usage is debited per organization and UTC day: each day's debit is exactly its usage rows' cost, so a
      // request billed twice, or a usage row without its cost in the ledger, shows as a mismatch.
      assertEquals(List.of(), texts(UsageDebits.MISMATCHED), "each day's debit is the cost of its usage rows");
      assertEquals(List.of(), texts(UsageDebits.UNDEBITED), "every paid usage day has its debit");
      assertEquals(List.of(), texts(UsageDebits.UNGUARDED), "every usage row's id guards against a replay");
      assertEquals(0, one("SELECT count(*) FROM usage_rejects", Tuple.tuple()), "no event was rejected");
      long charged = one("SELECT COALESCE(SUM(cost_micros), 0) FROM usage WHERE org_id = $1", Tuple.of(org));
      assertTrue(charged > 0, "the requests cost something");
      assertEquals(CREDIT_MICROS - charged,
          one("SELECT COALESCE(SUM(amount_micros), 0) FROM credit_ledger WHERE org_id = $1", Tuple.of(org)),
          "ledger balance = credit - sum of usage costs, to the micro-dollar");
      System.out.printf("GatewayCrashTest: %d usage rows (%d completed seen by clients), %d micro-USD charged%n",
          rows.size(), seen.size(), charged);

      // Every answer a client received whole was billed: exactly one usage row (whose cost is in its day's debit).
      List<String> missing = seen.stream().filter(id -> !rows.containsKey(id)).sorted().toList();
      if (!missing.isEmpty()) {
        throw new AssertionError(missing.size() + " of the " + seen.size() + " requests the clients saw complete "
            + "have no usage row, and nothing is left in the usage streams:\n"
            + diagnose(missing, org, redis, completedAt, killedAt, first, second));
      }
      for (String id : seen) {
        assertEquals(1L, rows.get(id), "usage rows of completed request " + id);
      }
    } finally {
      redis.close().await();
    }
  }

  // ---- load -------------------------------------------------------------------------------------------------

  /**
   * One client: sends requests one after another until stopped, alternating streamed and whole answers, and
   * records the request id of every answer it received complete. Failures (the kill) are counted, not retried.
   */
  private void clientLoop(int clientId, int n, String key, AtomicBoolean stop, Map<String, Completion> completed,
      AtomicInteger failed, Promise<Void> done) {
    if (stop.get()) {
      done.complete();
      return;
    }
    boolean stream = (clientId + n) % 2 == 0;
    JsonObject body = new JsonObject().put("model", "gpt-fast").put("stream", stream)
        .put("max_tokens", 3 + (clientId + n) % 6)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user")
            .put("content", "crash test " + clientId + "/" + n)));
    client.post("/v1/chat/completions").bearerTokenAuthentication(key).sendJsonObject(body).onComplete(ar -> {
      if (ar.succeeded() && isComplete(ar.result(), stream)) {
        completed.put(ar.result().getHeader("x-request-id"), new Completion(System.nanoTime(), stream));
      } else {
        failed.incrementAndGet();
      }
      clientLoop(clientId, n + 1, key, stop, completed, failed, done);
    });
  }

  /** A 200 with the whole answer: a JSON body with usage, or a stream ending with {@code data: [DONE]}. */
  private static boolean isComplete(HttpResponse<Buffer> resp, boolean stream) {
    if (resp.statusCode() != 200 || resp.getHeader("x-request-id") == null || resp.body() == null) {
      return false;
    }
    String text = resp.bodyAsString();
    if (stream) {
      return text.endsWith("data: [DONE]\n\n") && !text.contains("\"error\"");
    }
    try {
      return new JsonObject(text).getJsonObject("usage") != null;
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Starts {@code Main serve} in its own JVM and waits until it is ready and routes to the backend. */
  private GatewayProcess startGateway(int generation, long backendId) throws IOException {
    GatewayProcess gw = GatewayProcess.start(vertx, GatewayProcess.environment(REPLICA),
        LOG_DIR.resolve("gateway-" + generation + ".log"), backendId);
    gateways.add(gw);
    return gw;
  }

  private record Completion(long nanos, boolean stream) {}

  // ---- checks ----------------------------------------------------------------------------------------------

  /** What is known of each missing request: how the client saw it, its Redis metering keys, its log lines. */
  private static String diagnose(List<String> missing, long org, Redis redis, Map<String, Completion> completedAt,
      long killedAt, GatewayProcess... gateways) {
    StringBuilder out = new StringBuilder();
    for (String id : missing.subList(0, Math.min(missing.size(), 12))) {
      Completion c = completedAt.get(id);
      String metering = meteringState(redis, RedisKeys.request(org, id));
      out.append("- ").append(id).append(": ").append(c.stream ? "stream" : "non-stream")
          .append(" answer complete at the client ").append((killedAt - c.nanos) / 1_000)
          .append(" us before SIGKILL was sent (negative: just after); ")
          .append("Redis: ").append(metering).append('\n');
      for (GatewayProcess gw : gateways) {
        try (var lines = Files.lines(gw.log(), StandardCharsets.UTF_8)) {
          lines.filter(l -> l.contains(id)).forEach(l -> out.append("    ").append(gw.log().getFileName())
              .append(": ").append(l).append('\n'));
        } catch (IOException | java.io.UncheckedIOException e) {
          out.append("    (cannot read ").append(gw.log()).append(": ").append(e).append(")\n");
        }
      }
    }
    if (missing.size() > 12) {
      out.append("- and ").append(missing.size() - 12).append(" more\n");
    }
    for (GatewayProcess gw : gateways) {
      out.append("--- ").append(gw.log()).append(" (last lines) ---\n").append(gw.tail()).append('\n');
    }
    return out.toString();
  }

  /** The request's key holds its reservation while in flight, then the settled marker "S". */
  private static String meteringState(Redis redis, String key) {
    var value = redis.send(Request.cmd(Command.GET).arg(key)).await();
    return value == null ? "no reservation, not settled" : "S".equals(value.toString()) ? "settled marker present"
        : "admission reservation still held (never settled)";
  }

  private List<String> texts(String sql) {
    List<String> out = new ArrayList<>();
    pool.query(sql).execute().await().forEach(r -> out.add(r.getString(0)));
    return out;
  }

  private Map<String, Long> countBy(String sql) {
    Map<String, Long> out = new HashMap<>();
    for (Row r : pool.query(sql).execute().await()) {
      out.put(r.getString(0), r.getLong(1));
    }
    return out;
  }

  private long one(String sql, Tuple args) {
    return pool.preparedQuery(sql).execute(args).await().iterator().next().getLong(0);
  }

  private void awaitTrue(String what, BooleanSupplier condition, GatewayProcess... gateways) {
    awaitTrue(what, SETTLE_TIMEOUT_MS, condition, gateways);
  }

  private void awaitTrue(String what, long timeoutMs, BooleanSupplier condition, GatewayProcess... gateways) {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        StringBuilder logs = new StringBuilder();
        for (GatewayProcess gw : gateways) {
          logs.append("\n--- ").append(gw.log()).append(" ---\n").append(gw.tail());
        }
        throw new AssertionError("Timed out after " + timeoutMs + " ms waiting for " + what + logs);
      }
      Sleep.ms(100);
    }
  }


}
