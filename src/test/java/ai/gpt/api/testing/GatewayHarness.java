package ai.gpt.api.testing;

import ai.gpt.api.Gateway;
import ai.gpt.api.auth.ApiKeyFormat;
import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.config.Env;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.db.Database;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * A real gateway on free ports against the test database and Redis, with helpers to create organizations,
 * keys and backends the way an operator would (rows in PostgreSQL, picked up live by the gateway).
 * Test code runs on the JUnit thread and waits with {@code await()}.
 */
public final class GatewayHarness implements AutoCloseable {
  private final Vertx vertx;
  private final Gateway gateway;
  private final Pool pool;
  private final WebClient client;
  private final KeyHasher hasher = new KeyHasher(TestServices.PEPPER);
  /** Credit every organization the harness creates starts with: $100. */
  public static final long DEFAULT_CREDIT_MICROS = 100_000_000L;

  private GatewayHarness(Vertx vertx, Gateway gateway, Pool pool) {
    this.vertx = vertx;
    this.gateway = gateway;
    this.pool = pool;
    this.client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(gateway.port()).setKeepAlive(true));
  }

  public static GatewayHarness start(Vertx vertx) {
    return start(vertx, Map.of());
  }

  /** Starts a gateway on a clean catalogue (no organizations, keys or backends; seed models kept). */
  public static GatewayHarness start(Vertx vertx, Map<String, String> overrides) {
    TestServices.ensureDatabase();
    Pool pool = Database.pool(vertx, TestServices.DATABASE_URL, 4);
    pool.query("TRUNCATE backends, api_keys, organizations, users, credit_ledger, usage, usage_requests, usage_rejects"
            + " RESTART IDENTITY CASCADE")
        .execute().await();
    TestServices.flushRedis(vertx); // organization ids restart, so Redis must forget the old ones' balances
    Map<String, String> env = new HashMap<>();
    env.put("DATABASE_URL", TestServices.DATABASE_URL);
    env.put("REDIS_URL", TestServices.REDIS_URL);
    env.put("KEY_PEPPER", TestServices.PEPPER);
    env.put("JWT_SECRET", TestServices.JWT_SECRET);
    env.put("SECRETS_KEY", TestServices.SECRETS_KEY);
    env.put("PORT", String.valueOf(freePort()));
    env.put("METRICS_PORT", String.valueOf(freePort()));
    env.put("HOST", "127.0.0.1");
    env.put("EVENT_LOOPS", "2");
    env.put("HEALTH_INTERVAL_MS", "200");
    env.putAll(overrides);
    GatewayConfig config = GatewayConfig.from(Env.of(env));
    Gateway gateway = Gateway.start(vertx, config).await();
    return new GatewayHarness(vertx, gateway, pool);
  }

  public WebClient client() {
    return client;
  }

  public int port() {
    return gateway.port();
  }

  /** The gateway's public router, to compare its routes with the OpenAPI document. */
  public io.vertx.ext.web.Router router() {
    return gateway.router();
  }

  public int metricsPort() {
    return gateway.metricsPort();
  }

  public Pool pool() {
    return pool;
  }

  /** An organization with {@link #DEFAULT_CREDIT_MICROS} of credit, so its requests are admitted. */
  public long createOrg(String name) {
    return createOrg(name, DEFAULT_CREDIT_MICROS);
  }

  public long createOrg(String name, long creditMicros) {
    long id = pool.preparedQuery("INSERT INTO organizations (name) VALUES ($1) RETURNING id")
        .execute(Tuple.of(name)).await().iterator().next().getLong(0);
    if (creditMicros != 0) {
      credit(id, creditMicros);
    }
    return id;
  }

  public void credit(long orgId, long micros) {
    pool.preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key) "
            + "VALUES ($1, $2, 'credit', 'test', $3)")
        .execute(Tuple.of(orgId, micros, "test-credit-" + orgId + "-" + System.nanoTime())).await();
  }

  /** The ledger balance (PostgreSQL), in micro-USD. */
  public long ledgerBalance(long orgId) {
    return pool.preparedQuery("SELECT COALESCE(SUM(amount_micros), 0) FROM credit_ledger WHERE org_id = $1")
        .execute(Tuple.of(orgId)).await().iterator().next().getLong(0);
  }

  /** Usage rows written so far for the organization. */
  public long usageRows(long orgId) {
    return pool.preparedQuery("SELECT count(*) FROM usage WHERE org_id = $1")
        .execute(Tuple.of(orgId)).await().iterator().next().getLong(0);
  }

  /** The organization that owns a key created by {@link #createKey}. */
  public long orgOf(String fullKey) {
    return pool.preparedQuery("SELECT org_id FROM api_keys WHERE public_id = $1")
        .execute(Tuple.of(ApiKeyFormat.parse(fullKey).publicId())).await().iterator().next().getLong(0);
  }

  /** A key for a fresh organization; models limits the key to those models when given. */
  public String createKey(String... models) {
    return createKey(createOrg("org-" + System.nanoTime()), null, models);
  }

  public String createKey(long orgId, OffsetDateTime expires, String... models) {
    ApiKeyFormat.Minted minted = ApiKeyFormat.mint();
    pool.preparedQuery("INSERT INTO api_keys (public_id, secret_hash, org_id, allowed_models, expires_at) "
            + "VALUES ($1, $2, $3, $4, $5)")
        .execute(Tuple.of(minted.publicId(), hasher.hash(minted.secret()), orgId,
            models.length == 0 ? null : models, expires))
        .await();
    return minted.fullKey();
  }

  /** Adds a backend row and waits until the gateway's health checker has seen it healthy. */
  public long addBackend(String model, FakeLlamaServer fake) {
    return addBackend(model, fake.baseUrl(), fake.slots(), null);
  }

  public long addBackend(String model, String url, int slots, String apiKey) {
    long id = pool.preparedQuery("INSERT INTO backends (model_id, base_url, slots, api_key) VALUES ($1, $2, $3, $4) RETURNING id")
        .execute(Tuple.of(model, url, slots, apiKey)).await().iterator().next().getLong(0);
    awaitTrue("backend " + id + " healthy", () -> backendHealthy(id));
    return id;
  }

  public void setBackendState(long id, String state) {
    pool.preparedQuery("UPDATE backends SET state = $2 WHERE id = $1").execute(Tuple.of(id, state)).await();
  }

  public boolean backendHealthy(long id) {
    return metrics().lines().anyMatch(l -> l.startsWith("gptapi_backend_healthy{")
        && l.contains("backend=\"" + id + "\"") && l.endsWith(" 1.0"));
  }

  public String metrics() {
    WebClient ops = WebClient.create(vertx);
    try {
      HttpResponse<Buffer> resp = ops.get(metricsPort(), "127.0.0.1", "/metrics").send().await();
      if (resp.statusCode() != 200) {
        throw new AssertionError("/metrics answered " + resp.statusCode() + ": " + resp.bodyAsString());
      }
      return resp.bodyAsString() == null ? "" : resp.bodyAsString();
    } finally {
      ops.close();
    }
  }

  public HttpResponse<Buffer> post(String path, String key, JsonObject body) {
    var request = client.post(path);
    if (key != null) {
      request.bearerTokenAuthentication(key);
    }
    return request.sendJsonObject(body).await();
  }

  public HttpResponse<Buffer> get(String path, String key) {
    var request = client.get(path);
    if (key != null) {
      request.bearerTokenAuthentication(key);
    }
    return request.send().await();
  }

  public static void awaitTrue(String what, BooleanSupplier condition) {
    awaitTrue(what, 10_000, condition);
  }

  /** Polls the condition until it holds, failing after {@code timeoutMs} (for waits past a lease or a JVM start). */
  public static void awaitTrue(String what, long timeoutMs, BooleanSupplier condition) {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("Timed out waiting for " + what);
      }
      try {
        Thread.sleep(25); // test thread, not an event loop
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    client.close();
    gateway.close().await();
    pool.close().await();
  }
}
