package ai.gpt.api.status;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;
import java.util.concurrent.TimeUnit;

/** Whether PostgreSQL and Redis answer, asked once per sample (never per status request). */
final class Dependencies {
  static final long TIMEOUT_MS = 2_000;

  record Reachable(boolean postgres, boolean redis) {}

  private final Pool pool;
  private final Redis redis;

  Dependencies(Pool pool, Redis redis) {
    this.pool = pool;
    this.redis = redis;
  }

  Future<Reachable> check() {
    Future<Boolean> pg = answers(pool.query("SELECT 1").execute());
    Future<Boolean> rd = answers(redis.send(Request.cmd(Command.PING)));
    return Future.all(pg, rd).map(v -> new Reachable(pg.result(), rd.result()));
  }

  private static Future<Boolean> answers(Future<?> call) {
    return call.timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS).map(true).otherwise(false);
  }
}
