package ai.gpt.api;

import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.auth.KeyInvalidations;
import ai.gpt.api.auth.KeyStore;
import ai.gpt.api.auth.LastUsedTracker;
import ai.gpt.api.catalog.Catalog;
import ai.gpt.api.catalog.CatalogLoader;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.db.Database;
import ai.gpt.api.http.GatewayContext;
import ai.gpt.api.http.GatewayVerticle;
import ai.gpt.api.metrics.GatewayMetrics;
import ai.gpt.api.metrics.OpsServer;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.routing.HealthChecker;
import ai.gpt.api.routing.RoutingSettings;
import ai.gpt.api.usage.MetricsUsageSink;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the gateway together and starts it: shared services first (catalog, keys, health checks), then one
 * HTTP verticle per event loop. Migrations must already have run.
 */
public final class Gateway {
  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
  private static final long CLOSE_STEP_SECONDS = 5;
  private final Vertx vertx;
  private final Pool pool;
  private final Redis redis;
  private final KeyInvalidations invalidations;
  private final LastUsedTracker lastUsed;
  private final OpsServer ops;
  private final List<String> deployments;
  private final int port;

  private Gateway(Vertx vertx, Pool pool, Redis redis, KeyInvalidations invalidations, LastUsedTracker lastUsed,
      OpsServer ops, List<String> deployments, int port) {
    this.vertx = vertx;
    this.pool = pool;
    this.redis = redis;
    this.invalidations = invalidations;
    this.lastUsed = lastUsed;
    this.ops = ops;
    this.deployments = deployments;
    this.port = port;
  }

  public static Future<Gateway> start(Vertx vertx, GatewayConfig config) {
    GatewayMetrics metrics = new GatewayMetrics();
    Pool pool = Database.pool(vertx, config.databaseUrl(), 8);
    Redis redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(config.redisUrl()));
    Catalog catalog = new Catalog();
    BackendRegistry registry = new BackendRegistry(vertx,
        new RoutingSettings(config.queueSize(), config.queueTimeoutMs(), config.healthIntervalMs()), metrics);
    KeyStore keys = new KeyStore(pool);
    LastUsedTracker lastUsed = new LastUsedTracker(vertx, pool);
    GatewayContext context = new GatewayContext(config, catalog, registry, keys, new KeyHasher(config.keyPepper()),
        lastUsed, new MetricsUsageSink(metrics), metrics);
    OpsServer ops = new OpsServer(metrics, pool, redis, config.host(), config.metricsPort());
    List<String> deployments = new ArrayList<>();
    List<GatewayVerticle> servers = new ArrayList<>();

    return KeyInvalidations.start(vertx, config.redisUrl(), keys).compose(invalidations ->
        vertx.deployVerticle(new CatalogLoader(pool, Database.connectOptions(config.databaseUrl()), catalog, registry))
            .compose(id -> {
              deployments.add(id);
              return vertx.deployVerticle(new HealthChecker(registry, config.healthIntervalMs()));
            })
            .compose(id -> {
              deployments.add(id);
              return vertx.deployVerticle(ops);
            })
            .compose(id -> {
              deployments.add(id);
              return vertx.deployVerticle(() -> {
                GatewayVerticle v = new GatewayVerticle(context);
                synchronized (servers) {
                  servers.add(v);
                }
                return v;
              }, new DeploymentOptions().setInstances(config.eventLoops()));
            })
            .map(id -> {
              deployments.add(id);
              return new Gateway(vertx, pool, redis, invalidations, lastUsed, ops, deployments,
                  servers.get(0).actualPort());
            }));
  }

  /** The public port actually bound. */
  public int port() {
    return port;
  }

  public int metricsPort() {
    return ops.actualPort();
  }

  /**
   * Stops everything in reverse order of start. Each step gets a few seconds: a step that hangs is logged and
   * skipped, so a shutdown (or a test's teardown) always completes.
   */
  public Future<Void> close() {
    Future<Void> done = Future.succeededFuture();
    for (int i = deployments.size() - 1; i >= 0; i--) {
      String id = deployments.get(i);
      done = done.compose(v -> step("undeploy " + id, () -> vertx.undeploy(id)));
    }
    return done
        .compose(v -> step("last-used flush", () -> {
          lastUsed.close();
          return Future.succeededFuture();
        }))
        .compose(v -> step("key invalidation subscriber", invalidations::close))
        .compose(v -> step("redis client", redis::close))
        .compose(v -> step("postgres pool", pool::close));
  }

  private static Future<Void> step(String what, Supplier<Future<?>> action) {
    return action.get()
        .timeout(CLOSE_STEP_SECONDS, TimeUnit.SECONDS)
        .onFailure(err -> LOG.warn("Shutdown step '{}' did not finish: {}", what, err.toString()))
        .<Void>mapEmpty()
        .otherwiseEmpty();
  }
}
