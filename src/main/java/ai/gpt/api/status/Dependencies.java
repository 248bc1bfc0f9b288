package ai.gpt.api.status;

import ai.gpt.api.metrics.GatewayMetrics;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;
import java.util.concurrent.TimeUnit;

/**
 * Whether PostgreSQL and Redis answer, asked once per sample (never per status request); also exported as
 * {@code gptapi_dependency_up} for the alert rules.
 */
final class Dependencies {
  static final long TIMEOUT_MS = 2_000;

  record Reachable(boolean postgres, boolean redis) {}

  private final Pool pool;
  private final Redis redis;
  private final GatewayMetrics metrics;

  Dependencies(Pool pool, Redis redis, GatewayMetrics metrics) {
    this.pool = pool;
    this.redis = redis;
    this.metrics = metrics;
  }

  Future<Reachable> check() {
    Future<Boolean> pg = answers(pool.query("SELECT 1").execute());
    Future<Boolean> rd = answers(redis.send(Request.cmd(Command.PING)));
    return Future.all(pg, rd).map(v -> {
      metrics.dependencies(pg.result(), rd.result());
      return new Reachable(pg.result(), rd.result());
    });
  }

  private static Future<Boolean> answers(Future<?> call) {
    return call.timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS).map(true).otherwise(false);
  }
}
