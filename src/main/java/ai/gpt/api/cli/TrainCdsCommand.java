package ai.gpt.api.cli;

import ai.gpt.api.account.AccessTokens;
import ai.gpt.api.account.SessionCheck;
import ai.gpt.api.account.Sessions;
import ai.gpt.api.api.DocsRoutes;
import ai.gpt.api.auth.ApiKey;
import ai.gpt.api.auth.ApiKeyFormat;
import ai.gpt.api.auth.AuthFailures;
import ai.gpt.api.auth.AuthHandler;
import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.auth.KeyStore;
import ai.gpt.api.auth.LastUsedTracker;
import ai.gpt.api.catalog.BackendDefinition;
import ai.gpt.api.catalog.Catalog;
import ai.gpt.api.catalog.ModelInfo;
import ai.gpt.api.catalog.PublicModelRoutes;
import ai.gpt.api.config.Env;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.config.RedisClients;
import ai.gpt.api.db.Database;
import ai.gpt.api.db.Migrations;
import ai.gpt.api.error.FailureHandler;
import ai.gpt.api.http.AccessLog;
import ai.gpt.api.http.BodyLimit;
import ai.gpt.api.http.ConnectionGuard;
import ai.gpt.api.http.GatewayContext;
import ai.gpt.api.http.GatewayVerticle;
import ai.gpt.api.http.RequestIds;
import ai.gpt.api.limits.Limits;
import ai.gpt.api.metering.RequestMetering;
import ai.gpt.api.metering.Unmetered;
import ai.gpt.api.metrics.GatewayMetrics;
import ai.gpt.api.metrics.OpsServer;
import ai.gpt.api.proxy.Endpoint;
import ai.gpt.api.proxy.ProxyHandler;
import ai.gpt.api.proxy.RequestPreparer;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.routing.HealthChecker;
import ai.gpt.api.routing.RoutingSettings;
import ai.gpt.api.status.TrafficCounts;
import ai.gpt.api.tracing.Tracing;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.flywaydb.core.api.FlywayException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code train-cds}: the training run of the image's class-data-sharing archive. The Dockerfile runs it once with
 * {@code -XX:ArchiveClassesAtExit}, and the gateway starts with {@code -XX:SharedArchiveFile}: every class loaded
 * here is then mapped from the archive instead of being read, parsed and verified from the jar at each start.
 *
 * <p>A Docker build has no PostgreSQL and no Redis, so this runs what a starting replica runs that needs neither,
 * with the production classes, all on 127.0.0.1 ephemeral ports: Flyway and the JDBC driver up to their connection
 * attempt, the PostgreSQL and Redis clients (pointed at a closed port), the operator port ({@code /health},
 * {@code /ready}, {@code /metrics}), the public server with its real router, key check, API routes and error
 * answers, and the real proxy handler relaying chat and text completions (whole and streamed) and embeddings to an
 * in-process {@link StubLlamaServer} behind a health-checked backend registry. The key check cannot pass without
 * PostgreSQL, so the relay is served by a second router that puts a fixed key on each request in its place. What
 * cannot run at all here (the rest of a start) is at least loaded: see {@link #preload}.
 *
 * <p>Every request must get the answer expected, or the command exits 1 (so a build never ships an archive trained
 * on a broken path).
 */
final class TrainCdsCommand {
  private static final Logger LOG = LoggerFactory.getLogger(TrainCdsCommand.class);
  private static final String CHAT_MODEL = "cds-chat";
  private static final String EMBEDDING_MODEL = "cds-embed";
  /** Rounds of the relay requests: the second one reuses the pooled upstream connections. */
  private static final int ROUNDS = 2;
  private static final long BACKEND_HEALTHY_TIMEOUT_MS = 10_000;
  private static final long REQUEST_TIMEOUT_MS = 10_000;
  /** Loaded from the jar besides what the run below loads (see {@link #preload}). */
  private static final List<String> PRELOADED = List.of("ai/gpt/api/", "org/flywaydb/core/",
      "org/flywaydb/database/postgresql/", "org/postgresql/", "io/vertx/pgclient/", "io/vertx/sqlclient/",
      "io/vertx/redis/client/");

  private TrainCdsCommand() {}

  static int run(Env env) {
    long started = System.nanoTime();
    GatewayConfig config = GatewayConfig.from(trainingEnv(env, closedPort()));
    try {
      Migrations.migrate(config.databaseUrl());
    } catch (FlywayException expected) {
      LOG.info("train-cds: Flyway stopped at its connection, as expected without PostgreSQL");
    }
    int loaded = preload();
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(config.eventLoops()));
    List<String> failures;
    try {
      failures = exercise(vertx, config);
    } finally {
      vertx.close().await();
    }
    long ms = (System.nanoTime() - started) / 1_000_000;
    if (!failures.isEmpty()) {
      failures.forEach(f -> System.err.println("train-cds: " + f));
      return 1;
    }
    System.out.println("train-cds: " + loaded + " classes preloaded, the serving path ran in " + ms + " ms");
    return 0;
  }

  /**
   * The settings of the run: fixed, except LOG_FORMAT (the image sets json, and the access log's JSON writer is
   * part of the serving path). PostgreSQL and Redis are given a port nothing listens on.
   */
  private static Env trainingEnv(Env env, int closedPort) {
    Map<String, String> values = new HashMap<>();
    values.put("DATABASE_URL", "postgresql://cds@127.0.0.1:" + closedPort + "/cds");
    values.put("REDIS_URL", "redis://127.0.0.1:" + closedPort + "/0");
    values.put("KEY_PEPPER", "train-cds-pepper-not-a-secret");
    values.put("JWT_SECRET", "train-cds-jwt-secret-not-a-secret-0123456789");
    values.put("SECRETS_KEY", "train-cds-secrets-key-not-a-secret-012345678");
    values.put("HOST", "127.0.0.1");
    values.put("PORT", "0");
    values.put("METRICS_HOST", "127.0.0.1");
    values.put("METRICS_PORT", "0");
    values.put("EVENT_LOOPS", "2");
    values.put("HEALTH_INTERVAL_MS", "100");
    values.put("REPLICA_NAME", "train-cds");
    if (env.get("LOG_FORMAT") != null) {
      values.put("LOG_FORMAT", env.get("LOG_FORMAT"));
    }
    return Env.of(values);
  }

  private static int closedPort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Loads (without initializing) every class under {@link #PRELOADED} from the jar: the parts of a start that need
   * PostgreSQL or Redis (metering, the usage writer, billing, status, webhooks; Flyway's migration, the clients'
   * protocol codecs) cannot run here, but their classes can still come from the archive. A class whose optional
   * dependency is not in the jar fails to load and is left out. Returns how many were loaded.
   */
  private static int preload() {
    ClassLoader loader = TrainCdsCommand.class.getClassLoader();
    int loaded = 0;
    try {
      Path code = Path.of(TrainCdsCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (Files.isDirectory(code)) {
        // Class-data sharing archives classes from jars only.
        throw new CliException("train-cds runs from the packaged jar (java -jar gpt-api.jar train-cds)");
      }
      try (FileSystem jar = FileSystems.newFileSystem(code)) {
        for (String prefix : PRELOADED) {
          try (Stream<Path> files = Files.walk(jar.getPath("/" + prefix))) {
            for (Path file : (Iterable<Path>) files::iterator) {
              String name = file.toString().substring(1);
              if (name.endsWith(".class") && !name.contains("-")) {
                try {
                  Class.forName(name.substring(0, name.length() - ".class".length()).replace('/', '.'), false,
                      loader);
                  loaded++;
                } catch (ClassNotFoundException | LinkageError optionalDependencyMissing) {
                  // e.g. pgjdbc's OSGi or Flyway's cloud-storage support: never used by the gateway
                }
              }
            }
          }
        }
      }
    } catch (IOException | URISyntaxException e) {
      throw new CliException("train-cds: cannot read the jar: " + e);
    }
    return loaded;
  }

  private static List<String> exercise(Vertx vertx, GatewayConfig config) {
    HttpServer backend = StubLlamaServer.start(vertx).await();
    String backendUrl = "http://127.0.0.1:" + backend.actualPort();
    GatewayMetrics metrics = new GatewayMetrics();
    Pool pool = Database.pool(vertx, config.databaseUrl(), 2);
    Redis redis = RedisClients.create(vertx, config.redisUrl(), 4, 16);
    Catalog catalog = Catalog.of(List.of(
        new ModelInfo(CHAT_MODEL, "CDS chat", ModelInfo.Kind.CHAT, 100_000, 400_000, 256, 4096, 8192, 0, true),
        new ModelInfo(EMBEDDING_MODEL, "CDS embed", ModelInfo.Kind.EMBEDDING, 20_000, 0, 0, 0, 8192, 0, true)));
    BackendRegistry registry = new BackendRegistry(vertx,
        new RoutingSettings(config.queueSize(), config.queueTimeoutMs(), config.healthIntervalMs()), metrics);
    registry.apply(List.of(new BackendDefinition(1, CHAT_MODEL, backendUrl, null, 4, 1, false),
        new BackendDefinition(2, EMBEDDING_MODEL, backendUrl, null, 4, 1, false)));
    String healthChecker = vertx.deployVerticle(new HealthChecker(registry, config.healthIntervalMs())).await();

    OpsServer ops = new OpsServer(metrics, pool, redis, config.http().metricsHost(), config.metricsPort(),
        config.metered());
    vertx.deployVerticle(ops).await();
    KeyHasher hasher = new KeyHasher(config.keyPepper());
    LastUsedTracker lastUsed = new LastUsedTracker(vertx, pool);
    AuthHandler auth = new AuthHandler(new KeyStore(pool), hasher, lastUsed, new AuthFailures(),
        config.accounts().clientAddress());
    AccessTokens tokens = new AccessTokens(vertx, config.accounts().jwtSecret(), config.accounts().accessTtlSeconds());
    TrafficCounts traffic = new TrafficCounts();
    RequestMetering metering = new Unmetered();
    GatewayContext context = new GatewayContext(config, catalog, registry, auth, metering, metrics,
        List.of(DocsRoutes.load(vertx).await(), new PublicModelRoutes(catalog)),
        new SessionCheck(tokens, new Sessions(pool, config.accounts().sessionTtlDays())),
        new ConnectionGuard(config.http(), metrics), traffic, Tracing.start(config.tracing()));
    List<GatewayVerticle> servers = new ArrayList<>();
    vertx.deployVerticle(() -> {
      GatewayVerticle v = new GatewayVerticle(context);
      synchronized (servers) {
        servers.add(v);
      }
      return v;
    }, new DeploymentOptions().setInstances(config.eventLoops())).await();
    ops.serving();

    ApiKeyFormat.Minted minted = ApiKeyFormat.mint();
    ApiKey key = new ApiKey(1, minted.publicId(), hasher.hash(minted.secret()), 1, "train-cds", "active", null, null,
        Limits.UNLIMITED, Limits.UNLIMITED, false, false);
    HttpServer relay = relayServer(vertx, config, catalog, registry, metering, metrics, traffic, key);

    WebClient client = WebClient.create(vertx);
    Requests requests = new Requests(client);
    try {
      int relayPort = relay.actualPort();
      awaitHealthy(requests, relayPort);
      for (int round = 0; round < ROUNDS; round++) {
        for (boolean stream : new boolean[] {false, true}) {
          requests.expect(relayPort, "/v1/chat/completions", "{\"model\":\"" + CHAT_MODEL + "\",\"messages\":"
              + "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Say hello\"}],"
              + "\"max_tokens\":16,\"temperature\":0.2,\"stream\":" + stream + "}", null, 200,
              stream ? "[DONE]" : "Hello from llama");
          requests.expect(relayPort, "/v1/completions", "{\"model\":\"" + CHAT_MODEL + "\",\"prompt\":\"Say hello\","
              + "\"max_tokens\":16,\"stream\":" + stream + "}", null, 200, stream ? "[DONE]" : "Hello from llama");
        }
        requests.expect(relayPort, "/v1/embeddings", "{\"model\":\"" + EMBEDDING_MODEL + "\",\"input\":[\"hello\"]}",
            null, 200, "embedding");
      }
      requests.expect(relayPort, "/v1/chat/completions", "{\"model\":", null, 400, "invalid_request_error");
      requests.expect(relayPort, "/v1/chat/completions", "{\"model\":\"no-such-model\",\"messages\":"
          + "[{\"role\":\"user\",\"content\":\"hi\"}]}", null, 404, "model_not_found");

      int publicPort = servers.get(0).actualPort();
      requests.expect(publicPort, "/v1/chat/completions", "{}", null, 401, "invalid_api_key");
      // A well-formed key is looked up in PostgreSQL, which is not there.
      requests.expect(publicPort, "/v1/chat/completions", "{}", "Bearer " + minted.fullKey(), 503, "error");
      requests.expect(publicPort, HttpMethod.GET, "/v1/models", null, 401, "invalid_api_key");
      requests.expect(publicPort, HttpMethod.GET, "/v1/nothing-here", null, 404, "error");
      requests.expect(publicPort, HttpMethod.GET, "/api/models", null, 200, CHAT_MODEL);
      requests.expect(publicPort, HttpMethod.GET, "/api/openapi.json", null, 200, "openapi");
      requests.expect(publicPort, HttpMethod.GET, "/", null, 200, "");

      int opsPort = ops.actualPort();
      requests.expect(opsPort, HttpMethod.GET, "/health", null, 200, "");
      requests.expect(opsPort, HttpMethod.GET, "/ready", null, 503, "not_ready");
      requests.expect(opsPort, HttpMethod.GET, "/metrics", null, 200, "gateway_");
    } finally {
      client.close();
      lastUsed.close();
      // Before Vert.x closes the stub backend: a probe cut off by the close would only log noise.
      vertx.undeploy(healthChecker).await();
    }
    return requests.failures;
  }

  /**
   * The relay as the public server mounts it (request id, access log, body limit, proxy handler, error answers),
   * with the key check replaced by the training key.
   */
  private static HttpServer relayServer(Vertx vertx, GatewayConfig config, Catalog catalog, BackendRegistry registry,
      RequestMetering metering, GatewayMetrics metrics, TrafficCounts traffic, ApiKey key) {
    HttpClient upstream = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true));
    Router router = Router.router(vertx);
    router.route().handler(RequestIds.create());
    router.route().handler(AccessLog.create(config.jsonLogs(), metrics, traffic));
    RequestPreparer preparer = new RequestPreparer(catalog);
    for (Endpoint endpoint : Endpoint.values()) {
      router.post(endpoint.path())
          .handler(BodyLimit.create(config.maxBodyBytes()))
          .handler(ctx -> {
            ctx.put(AuthHandler.KEY, key);
            ctx.next();
          })
          .handler(new ProxyHandler(endpoint, preparer, registry, upstream, metering, metrics,
              config.upstreamConnectTimeoutMs(), config.upstreamIdleTimeoutMs()));
    }
    router.route().failureHandler(FailureHandler.create());
    return vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true))
        .requestHandler(router)
        .listen(0, "127.0.0.1")
        .await();
  }

  /** The backends enter rotation after their first health probe; until then the relay answers 503. */
  private static void awaitHealthy(Requests requests, int port) {
    long deadline = System.currentTimeMillis() + BACKEND_HEALTHY_TIMEOUT_MS;
    String body = "{\"model\":\"" + CHAT_MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    while (requests.send(port, HttpMethod.POST, "/v1/chat/completions", body, null).statusCode() != 200
        || requests.send(port, HttpMethod.POST, "/v1/embeddings",
            "{\"model\":\"" + EMBEDDING_MODEL + "\",\"input\":\"hi\"}", null).statusCode() != 200) {
      if (System.currentTimeMillis() > deadline) {
        throw new CliException("train-cds: the stub backend never became healthy");
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CliException("train-cds: interrupted");
      }
    }
  }

  /** Sends requests from the main thread and collects every answer that is not the one expected. */
  private static final class Requests {
    private final WebClient client;
    private final List<String> failures = new ArrayList<>();

    Requests(WebClient client) {
      this.client = client;
    }

    HttpResponse<Buffer> send(int port, HttpMethod method, String path, String body, String authorization) {
      // Bounded: a request that hangs must fail the build's training step, not stall it.
      var request = client.request(method, port, "127.0.0.1", path).timeout(REQUEST_TIMEOUT_MS);
      if (authorization != null) {
        request.putHeader("Authorization", authorization);
      }
      return (body == null ? request.send()
          : request.putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(body))).await();
    }

    void expect(int port, String path, String body, String authorization, int status, String fragment) {
      check(HttpMethod.POST, port, path, send(port, HttpMethod.POST, path, body, authorization), status, fragment);
    }

    void expect(int port, HttpMethod method, String path, String authorization, int status, String fragment) {
      check(method, port, path, send(port, method, path, null, authorization), status, fragment);
    }

    private void check(HttpMethod method, int port, String path, HttpResponse<Buffer> resp, int status,
        String fragment) {
      String text = resp.bodyAsString() == null ? "" : resp.bodyAsString();
      if (resp.statusCode() != status || !text.contains(fragment)) {
        failures.add(method + " :" + port + path + " answered " + resp.statusCode() + " (expected " + status
            + " with '" + fragment + "'): " + text.substring(0, Math.min(300, text.length())));
      }
    }
  }
}
