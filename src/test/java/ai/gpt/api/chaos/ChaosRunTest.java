package ai.gpt.api.chaos;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.account.PasswordHasher;
import ai.gpt.api.auth.ApiKeyFormat;
import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.db.Database;
import ai.gpt.api.testing.ChildJvm;
import ai.gpt.api.testing.FakeLlamaProcess;
import ai.gpt.api.testing.GatewayProcess;
import ai.gpt.api.testing.Sleep;
import ai.gpt.api.testing.TcpProxy;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.testing.UsageQueues;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The chaos run (issue 8): two gateway replicas (separate JVMs) sharing one PostgreSQL and one Redis serve ~10,000
 * chat requests while clients disconnect mid-answer, backend processes are killed with SIGKILL and restarted,
 * replica B is killed with SIGKILL and restarted, the replicas' PostgreSQL and Redis connections are cut through
 * TCP proxies, and credit is transferred between the organizations through the API. Afterwards, once the usage
 * writers have drained, the money must add up exactly (see {@link ChaosAudit}); the figures are printed.
 *
 * <p>CI size: 10,000 requests over at least a minute, about 2 to 2.5 minutes in all on 2 cores. Longer:
 * {@code CHAOS_REQUESTS=100000} (environment) or {@code -Dchaos.requests=100000}, with
 * {@code -Djunit.jupiter.execution.timeout.mode=disabled} (the run is bounded by its own time cap, {@link #loadCapMs}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChaosRunTest {
  private static final long REQUESTS = requests();
  private static final int CLIENTS = 32;
  /** The load lasts at least this long, so that every kind of fault happens several times. */
  private static final long MIN_LOAD_MS = 60_000;
  private static final int BACKEND_SLOTS = 32;
  private static final long TOKEN_DELAY_MS = 1;
  private static final int RICH_ORGS = 4;
  private static final int LOW_ORGS = 4;
  private static final long RICH_CREDIT_MICROS = 100_000_000L;
  /** Three cents: a low organization's request (gpt-full, up to 1,500 tokens) may cost $0.0015, 5% of it. */
  private static final long LOW_CREDIT_MICROS = 30_000L;
  /** Per key of a low organization: two requests in flight per replica, the rest answered 429. */
  private static final int LOW_KEY_CONCURRENCY = 2;
  private static final long DRAIN_TIMEOUT_MS = 90_000;
  private static final long SEED = Long.getLong("chaos.seed", System.nanoTime());
  private static final Path LOGS = Path.of("target", "chaos-run");
  private static final String EMAIL = "chaos-owner@gpt.test";
  private static final String PASSWORD = "chaos run password";

  private Vertx vertx;
  private Pool pool;
  private Redis redis;
  private TcpProxy postgresProxy;
  private TcpProxy redisProxy;
  private final List<FakeLlamaProcess> fakes = new ArrayList<>();
  /** Replica A, then every generation of B; the fault thread adds to it while others read it. */
  private final List<GatewayProcess> gateways = new CopyOnWriteArrayList<>();
  private ChaosLoad load;
  private ChaosTransfers transfers;
  private ChaosFaults faults;
  private final List<Thread> threads = new ArrayList<>();

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  @DisplayName("chaos run: two replicas, killed backends, a killed replica, cut PostgreSQL and Redis, client "
      + "disconnects and transfers; afterwards the money adds up exactly")
  void chaosRun() throws Exception {
    // ---- a clean catalogue and the services, the replicas reaching PostgreSQL and Redis through proxies ------
    TestServices.ensureDatabase();
    vertx = Vertx.vertx();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 4);
    pool.query("TRUNCATE backends, api_keys, organizations, users, credit_ledger, usage, usage_requests, usage_rejects "
        + "RESTART IDENTITY CASCADE").execute().await();
    TestServices.flushRedis(vertx);
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    URI db = URI.create(TestServices.DATABASE_URL);
    URI rd = URI.create(TestServices.REDIS_URL);
    postgresProxy = TcpProxy.start(vertx, db.getHost(), db.getPort()).await();
    redisProxy = TcpProxy.start(vertx, rd.getHost(), rd.getPort()).await();

    List<Long> backendIds = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      FakeLlamaProcess fake = FakeLlamaProcess.start(LOGS.resolve("backend-" + i + ".log"), BACKEND_SLOTS,
          TOKEN_DELAY_MS);
      fakes.add(fake);
      for (String model : List.of("gpt-fast", "gpt-full")) {
        backendIds.add(one("INSERT INTO backends (model_id, base_url, slots) VALUES ($1, $2, $3) RETURNING id",
            Tuple.of(model, fake.baseUrl(), BACKEND_SLOTS)));
      }
    }
    List<ChaosOrg> rich = new ArrayList<>();
    List<ChaosOrg> low = new ArrayList<>();
    for (int i = 0; i < RICH_ORGS; i++) {
      rich.add(createOrg("rich-" + i, false, RICH_CREDIT_MICROS, "gpt-fast", 3, 24, null));
    }
    for (int i = 0; i < LOW_ORGS; i++) {
      low.add(createOrg("low-" + i, true, LOW_CREDIT_MICROS, "gpt-full", 200, 1_500, LOW_KEY_CONCURRENCY));
    }
    List<ChaosOrg> orgs = Stream.concat(rich.stream(), low.stream()).toList();
    createOwner(orgs);

    long[] backends = backendIds.stream().mapToLong(Long::longValue).toArray();
    Map<String, String> envA = replicaEnv("chaos-a");
    Map<String, String> envB = replicaEnv("chaos-b");
    gateways.add(GatewayProcess.start(vertx, envA, LOGS.resolve("replica-a.log"), backends));
    gateways.add(GatewayProcess.start(vertx, envB, LOGS.resolve("replica-b-1.log"), backends));
    AtomicIntegerArray ports = new AtomicIntegerArray(new int[] {gateways.get(0).port(), gateways.get(1).port()});

    // ---- load, transfers and faults at the same time ---------------------------------------------------------
    long start = System.currentTimeMillis();
    long deadline = start + loadCapMs();
    load = new ChaosLoad(vertx, rich, low, ports, REQUESTS, CLIENTS);
    // Signed in before the load: Argon2 on a busy 2-core machine takes seconds.
    String token = signIn(ports.get(0));
    transfers = new ChaosTransfers(vertx, pool, rich, low, ports, load::inFlight, token, () -> signIn(ports.get(0)));
    faults = new ChaosFaults(fakes, postgresProxy, redisProxy);
    long[] replicaKilledAt = {0};
    long[] killedPid = {0};
    var loadDone = load.run(CLIENTS, MIN_LOAD_MS, deadline, SEED);
    Throwable[] transferFailure = {null};
    Thread transferThread = new Thread(() -> {
      try {
        transfers.run(deadline, SEED + 1);
      } catch (Throwable e) {
        transferFailure[0] = e;
      }
    }, "chaos-transfers");
    transferThread.start();
    threads.add(transferThread);
    threads.addAll(faults.start(SEED + 2,
        () -> load.sent() >= REQUESTS * 2 / 5 || System.currentTimeMillis() > start + loadCapMs() * 2 / 5,
        () -> {
          GatewayProcess dead = gateways.get(gateways.size() - 1);
          killedPid[0] = dead.process().pid();
          assertEquals(ChildJvm.KILLED_BY_SIGKILL, dead.kill(), "replica B died of SIGKILL");
          replicaKilledAt[0] = System.currentTimeMillis();
          Sleep.ms(500); // down for a while: clients of B get no answer, its writer's entries stay pending
          GatewayProcess next = GatewayProcess.start(vertx, envB, LOGS.resolve("replica-b-2.log"), backends);
          gateways.add(next);
          ports.set(1, next.port());
        }, () -> {
          WebClient ops = WebClient.create(vertx);
          try {
            return gateways.stream().filter(g -> g.process().isAlive()).allMatch(g -> g.routesTo(ops, backends));
          } finally {
            ops.close();
          }
        }, deadline));
    loadDone.toCompletionStage().toCompletableFuture().get(loadCapMs() + 2 * ChaosLoad.IDLE_TIMEOUT_MS,
        TimeUnit.MILLISECONDS);
    long loadMs = System.currentTimeMillis() - start;
    stopBackgroundWork();
    assertNull(faults.failure(), () -> "a fault thread failed: " + faults.failure());
    assertNull(transferFailure[0], () -> "the transfer thread failed: " + transferFailure[0]);

    // ---- everything restored; wait (bounded) until every settlement reached PostgreSQL -----------------------
    postgresProxy.restore();
    redisProxy.restore();
    for (FakeLlamaProcess fake : fakes) {
      if (!fake.alive()) {
        fake.restart();
      }
    }
    List<GatewayProcess> live = gateways.stream().filter(g -> g.process().isAlive()).toList();
    long drainStart = System.currentTimeMillis();
    awaitDrained(live);
    long drainMs = System.currentTimeMillis() - drainStart;

    // ---- the audit -------------------------------------------------------------------------------------------
    ChaosAudit audit = new ChaosAudit(pool, redis);
    audit.figure("seed (-Dchaos.seed=)", SEED);
    audit.figure("requests sent / target", load.sent() + " / " + REQUESTS + " in " + loadMs + " ms"
        + (load.sent() < REQUESTS ? " (time cap reached)" : ""));
    for (Outcome o : Outcome.values()) {
      audit.figure("  " + o.name().toLowerCase(), load.count(o));
    }
    audit.figure("answers other than 200, by error code", new TreeMap<>(load.refusals()));
    audit.figure("faults: backend SIGKILLs / PostgreSQL cuts / Redis cuts / replica SIGKILLs",
        faults.backendKills + " / " + faults.postgresCuts + " / " + faults.redisCuts + " / " + faults.replicaKills);
    audit.figure("transfers: 201 / 200 replayed / 402 / 409 / no answer",
        transfers.count(ChaosTransfers.Result.APPLIED_201) + " / "
            + transfers.count(ChaosTransfers.Result.REPLAYED_200) + " / "
            + transfers.count(ChaosTransfers.Result.INSUFFICIENT_402) + " / "
            + transfers.count(ChaosTransfers.Result.CONFLICT_409) + " / "
            + transfers.count(ChaosTransfers.Result.FAILED));
    audit.figure("transfers: deliberate same-key retries / sweeps", transfers.sameKeyRetries() + " / "
        + transfers.sweeps());
    audit.figure("usage writers drained in (ms)", drainMs);
    audit.usageAndDebits(load.completed());
    audit.transfers(transfers.confirmed(), transfers.count(ChaosTransfers.Result.CONFLICT_409));
    audit.redis(orgs, replicaKilledAt[0], killedPid[0]);
    audit.overdraftBound(orgs, audit.prices());
    System.out.println("==== chaos run ====\n" + audit.figures() + "====");

    assertEquals(1, faults.replicaKills.get(), "replica B was killed and restarted once");
    assertTrue(faults.backendKills.get() > 0 && faults.postgresCuts.get() > 0 && faults.redisCuts.get() > 0,
        "every kind of fault happened");
    assertEquals(0, load.count(Outcome.TIMED_OUT), "no request hung for " + ChaosLoad.IDLE_TIMEOUT_MS + " ms");
    assertTrue(load.completed().size() > REQUESTS / 4, "enough requests completed to mean something");
    assertAll(audit.checks().stream().map(c -> () -> {
      try {
        c.body().execute();
      } catch (AssertionError e) {
        throw new AssertionError(c.name() + ": " + e.getMessage());
      }
    }));
  }

  @AfterAll
  void tearDown() {
    // Whatever happened: stop the threads, then kill every process this test started.
    stopBackgroundWork();
    gateways.forEach(GatewayProcess::close);
    fakes.forEach(FakeLlamaProcess::close);
    if (load != null) {
      load.close().await();
    }
    if (transfers != null) {
      transfers.close();
    }
    if (postgresProxy != null) {
      postgresProxy.close().await();
    }
    if (redisProxy != null) {
      redisProxy.close().await();
    }
    if (redis != null) {
      redis.close().await();
    }
    if (pool != null) {
      pool.close().await();
    }
    if (vertx != null) {
      vertx.close().await();
    }
  }

  private void stopBackgroundWork() {
    if (load != null) {
      load.stop();
    }
    if (transfers != null) {
      transfers.stop();
    }
    if (faults != null) {
      faults.stop();
    }
    for (Thread t : threads) {
      try {
        t.join(60_000); // a replica restart takes up to 30 s
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---- setup ----------------------------------------------------------------------------------------------------

  /** A replica's environment: PostgreSQL and Redis through the proxies, which cut them on demand. */
  private Map<String, String> replicaEnv(String name) {
    Map<String, String> env = GatewayProcess.environment(name);
    env.put("DATABASE_URL", throughProxy(TestServices.DATABASE_URL, postgresProxy));
    env.put("REDIS_URL", throughProxy(TestServices.REDIS_URL, redisProxy));
    return env;
  }

  private static String throughProxy(String url, TcpProxy proxy) {
    URI u = URI.create(url);
    return u.getScheme() + "://" + (u.getRawUserInfo() == null ? "" : u.getRawUserInfo() + "@") + "127.0.0.1:"
        + proxy.port() + (u.getRawPath() == null ? "" : u.getRawPath())
        + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
  }

  private ChaosOrg createOrg(String name, boolean isLow, long credit, String model, int minTokens, int maxTokens,
      Integer keyConcurrency) {
    long org = one("INSERT INTO organizations (name) VALUES ($1) RETURNING id", Tuple.of(name));
    // Rates far above the load: a refused request proves nothing about settlement. Low orgs still meet their
    // credit and their keys' concurrency.
    pool.preparedQuery("UPDATE organizations SET rpm = 1000000, rph = 1000000, rpd = 1000000, tpm = 1000000000, "
        + "tph = 1000000000, tpd = 1000000000, concurrency = 10000 WHERE id = $1").execute(Tuple.of(org)).await();
    pool.preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key) "
        + "VALUES ($1, $2, 'credit', 'chaos', $3)").execute(Tuple.of(org, credit, "chaos-credit-" + org)).await();
    ChaosOrg.ReplicaKey[] keys = new ChaosOrg.ReplicaKey[2];
    for (int replica = 0; replica < 2; replica++) {
      ApiKeyFormat.Minted minted = ApiKeyFormat.mint();
      long id = one("INSERT INTO api_keys (public_id, secret_hash, org_id, concurrency) VALUES ($1, $2, $3, $4) "
          + "RETURNING id", Tuple.of(minted.publicId(), new KeyHasher(TestServices.PEPPER).hash(minted.secret()),
          org, keyConcurrency));
      keys[replica] = new ChaosOrg.ReplicaKey(id, minted.fullKey());
    }
    return new ChaosOrg(org, isLow, model, minTokens, maxTokens, keys);
  }

  /** One verified user who owns every organization, to move credit between them through the API. */
  private void createOwner(List<ChaosOrg> orgs) {
    String hash = new PasswordHasher(vertx).hash(PASSWORD).await();
    long user = one("INSERT INTO users (email, name, password_hash, email_verified_at) VALUES ($1, 'chaos', $2, now()) "
        + "RETURNING id", Tuple.of(EMAIL, hash));
    for (ChaosOrg org : orgs) {
      pool.preparedQuery("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')")
          .execute(Tuple.of(org.id(), user)).await();
    }
  }

  /** Signs the owner in on the gateway at that port; retried a bounded number of times (PostgreSQL may be cut). */
  private String signIn(int port) {
    WebClient web = WebClient.create(vertx);
    try {
      for (int attempt = 0; attempt < 40; attempt++) {
        try {
          var resp = web.post(port, "127.0.0.1", "/api/auth/signin").timeout(10_000)
              .sendJsonObject(new JsonObject().put("email", EMAIL).put("password", PASSWORD)).await();
          if (resp.statusCode() == 200) {
            return resp.bodyAsJsonObject().getString("access_token");
          }
        } catch (Exception notNow) {
          // the replica is restarting
        }
        Sleep.ms(250);
      }
      throw new AssertionError("could not sign in on port " + port);
    } finally {
      web.close();
    }
  }

  // ---- drain ----------------------------------------------------------------------------------------------------

  /**
   * Until the usage streams are empty with nothing pending and no replica holds a settlement waiting for Redis,
   * twice in a row: from then on everything settled is in PostgreSQL, and whatever is missing never comes.
   */
  private void awaitDrained(List<GatewayProcess> live) {
    WebClient ops = WebClient.create(vertx);
    try {
      long deadline = System.currentTimeMillis() + DRAIN_TIMEOUT_MS;
      int quiet = 0;
      while (quiet < 2) {
        if (System.currentTimeMillis() > deadline) {
          StringBuilder logs = new StringBuilder();
          for (GatewayProcess gw : live) {
            logs.append("\n--- ").append(gw.log()).append(" ---\n").append(gw.tail());
          }
          throw new AssertionError("usage not drained in " + DRAIN_TIMEOUT_MS + " ms: stream entries "
              + UsageQueues.entries(redis) + ", pending " + UsageQueues.pending(redis) + ", in outboxes "
              + UsageQueues.outboxed(redis) + logs);
        }
        boolean drained = UsageQueues.entries(redis) == 0 && UsageQueues.pending(redis) == 0
            && UsageQueues.outboxed(redis) == 0
            && live.stream().allMatch(gw -> metric(gw.metrics(ops), "gptapi_settlements_pending") == 0);
        quiet = drained ? quiet + 1 : 0;
        Sleep.ms(500);
      }
    } finally {
      ops.close();
    }
  }

  /** Sum of a metric's samples; -1 when the replica did not answer. */
  private static double metric(String metrics, String name) {
    if (metrics == null) {
      return -1;
    }
    return metrics.lines().filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  // ---- helpers --------------------------------------------------------------------------------------------------

  private long one(String sql, Tuple args) {
    return pool.preparedQuery(sql).execute(args).await().iterator().next().getLong(0);
  }

  /** CHAOS_REQUESTS (environment) or -Dchaos.requests; 10,000 by default (the CI size). */
  private static long requests() {
    String v = System.getenv("CHAOS_REQUESTS");
    return Long.parseLong(v != null && !v.isBlank() ? v.trim() : System.getProperty("chaos.requests", "10000"));
  }

  /** The load stops at this time even if not every request was sent: 3 minutes for the CI size, more for more. */
  private static long loadCapMs() {
    return Math.max(180_000, REQUESTS * 18);
  }
}
