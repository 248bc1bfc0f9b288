package ai.gpt.api.metrics;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;

/**
 * The operator port (METRICS_PORT on METRICS_HOST), kept off the public one: {@code /metrics} for Prometheus,
 * {@code /health} (the process answers) and {@code /ready} (PostgreSQL and Redis answer, and the replica is not
 * shutting down) for Kubernetes. {@code /health} also says whether metering is on (METERING).
 */
public final class OpsServer extends VerticleBase {
  private static final int OPS_IDLE_TIMEOUT_SECONDS = 30;
  private final GatewayMetrics metrics;
  private final Pool pool;
  private final Redis redis;
  private final String host;
  private final int port;
  private final boolean metered;
  private HttpServer server;
  /** Set once the public port listens: before that a load balancer (or a test) must not send anything. */
  private volatile boolean serving;
  /** Set once at shutdown, read by /ready on the event loop. */
  private volatile boolean draining;

  public OpsServer(GatewayMetrics metrics, Pool pool, Redis redis, String host, int port, boolean metered) {
    this.metrics = metrics;
    this.pool = pool;
    this.redis = redis;
    this.host = host;
    this.port = port;
    this.metered = metered;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .end(metrics.scrape()));
    JsonObject health = new JsonObject().put("status", "ok").put("metering", metered ? "on" : "off");
    router.get("/health").handler(ctx -> ctx.json(health));
    router.get("/ready").handler(ctx -> {
      if (!serving || draining) {
        ctx.response().setStatusCode(503);
        ctx.json(new JsonObject().put("status", draining ? "draining" : "starting"));
        return;
      }
      Future<Boolean> db = pool.query("SELECT 1").execute().map(true).otherwise(false);
      Future<Boolean> cache = redis.send(Request.cmd(Command.PING)).map(true).otherwise(false);
      Future.join(db, cache).onComplete(ar -> {
        boolean ready = db.result() && cache.result();
        ctx.response().setStatusCode(ready ? 200 : 503);
        ctx.json(new JsonObject().put("status", ready ? "ready" : "not_ready")
            .put("postgres", db.result() ? "ok" : "down")
            .put("redis", cache.result() ? "ok" : "down"));
      });
    });
    // Every answer here is immediate, so an idle timeout cannot cut real work; it frees what scrapers leave open.
    return vertx.createHttpServer(new HttpServerOptions().setIdleTimeout(OPS_IDLE_TIMEOUT_SECONDS))
        .requestHandler(router).listen(port, host).onSuccess(s -> server = s);
  }

  /** The public port listens: from now on /ready reports on PostgreSQL and Redis. */
  public void serving() {
    serving = true;
  }

  /** From now on /ready answers 503 "draining", so load balancers send no new requests to this replica. */
  public void drain() {
    draining = true;
  }

  /** Nothing scrapes the meters any more: stop the JVM listeners that feed them. */
  @Override
  public Future<?> stop() {
    metrics.close();
    return Future.succeededFuture();
  }

  public int actualPort() {
    return server.actualPort();
  }
}
