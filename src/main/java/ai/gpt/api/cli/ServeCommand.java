package ai.gpt.api.cli;

import ai.gpt.api.Gateway;
import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.db.Database;
import ai.gpt.api.db.Migrations;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code serve}: migrate (unless MIGRATE_ON_START=false), register BACKENDS, start the gateway and run until stopped
 * (SIGTERM drains it, see {@link Gateway#shutdown}). Without DATABASE_URL and
 * REDIS_URL it first starts the embedded local servers and makes a demo organization and key.
 */
final class ServeCommand {
  private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);
  // A key given in BACKEND_API_KEYS replaces the stored one (a rotated RunPod key reaches the table on the next
  // start); without one, a key set with 'backend add --api-key' is kept.
  private static final String REGISTER_BACKEND = """
      INSERT INTO backends (model_id, base_url, api_key) SELECT $1, $2, $3
       WHERE EXISTS (SELECT 1 FROM models WHERE id = $1)
      ON CONFLICT (model_id, base_url) DO UPDATE SET api_key = EXCLUDED.api_key
       WHERE EXCLUDED.api_key IS NOT NULL AND backends.api_key IS DISTINCT FROM EXCLUDED.api_key""";

  private ServeCommand() {}

  static int run(GatewayConfig configured) {
    LocalServices local = configured.embedded() ? LocalServices.start(configured) : null;
    GatewayConfig config = local == null ? configured : local.config();
    if (config.migrateOnStart() || local != null) {
      Migrations.migrate(config.databaseUrl());
    } else {
      LOG.info("MIGRATE_ON_START=false: not migrating (the 'migrate' command, e.g. the Helm hook Job, does)");
    }

    // Java NIO on purpose: Netty's native epoll transport failed new upstream connections under bursts of
    // client disconnects in the benchmark (NotYetConnectedException), see README "Benchmark".
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(config.eventLoops()));
    Pool pool = Database.pool(vertx, config.databaseUrl(), 2);
    long backends;
    try {
      registerBackends(pool, config);
      if (local != null) {
        local.ensureDemoKey(pool, new KeyHasher(config.keyPepper()));
      }
      backends = pool.query("SELECT count(*) FROM backends").execute().await().iterator().next().getLong(0);
    } finally {
      pool.close().await();
    }
    Gateway gateway = Gateway.start(vertx, config).await();
    LOG.info("GPT API listening on http://{}:{} (metrics on :{})", config.host(), gateway.port(), gateway.metricsPort());
    if (backends == 0 && !config.discovery().enabled()) {
      LOG.warn("No llama.cpp backend is registered: the API answers 503 until one is added "
          + "(BACKENDS=gpt-fast=http://127.0.0.1:8081, or 'backend add --model gpt-fast --url ...').");
    }

    new GracefulStop(() -> {
      LOG.info("Shutting down");
      gateway.shutdown().eventually(vertx::close).await();
      if (local != null) {
        local.close();
      }
      LOG.info("Stopped");
    }).install().awaitStopped();
    return 0;
  }

  private static void registerBackends(Pool pool, GatewayConfig config) {
    for (GatewayConfig.BackendSpec spec : config.backends()) {
      int added = pool.preparedQuery(REGISTER_BACKEND)
          .execute(Tuple.of(spec.model(), spec.url(), spec.apiKey())).await().rowCount();
      if (added > 0) {
        LOG.info("Registered backend {} for {}{}", spec.url(), spec.model(),
            spec.apiKey() == null ? "" : " with its API key");
      }
    }
  }
}
