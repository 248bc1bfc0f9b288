package ai.gpt.api.metering;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;

/**
 * Asks Redis itself whether it answers: a PING on a connection of its own, taken out of the client's pool at
 * start, so the answer never waits behind the metering calls (or anyone's) queued in this process. A call that
 * timed out under a burst is told apart from a Redis that does not answer this way. One probe at a time; callers
 * arriving meanwhile share its answer.
 */
final class RedisProbe {
  static final long TIMEOUT_MS = 2_000;

  private final Vertx vertx;
  private final Redis redis;
  private RedisConnection connection;
  private Future<Void> running;

  private RedisProbe(Vertx vertx, Redis redis, RedisConnection connection) {
    this.vertx = vertx;
    this.redis = redis;
    this.connection = connection;
  }

  static Future<RedisProbe> create(Vertx vertx, Redis redis) {
    return redis.connect().map(c -> new RedisProbe(vertx, redis, c));
  }

  /** Succeeds if Redis answered PING within {@link #TIMEOUT_MS} (more if this process lagged, see {@link Deadline}). */
  synchronized Future<Void> ping() {
    if (running == null) {
      running = Deadline.of(vertx, send(), TIMEOUT_MS, Metering.MAX_CALL_WAIT_MS, () -> false).<Void>mapEmpty()
          .andThen(this::done);
    }
    return running;
  }

  private synchronized void done(io.vertx.core.AsyncResult<Void> result) {
    running = null;
    if (result.failed() && connection != null) {
      // The connection may be what failed (Redis restarted under it): the next probe starts with a new one.
      connection.close();
      connection = null;
    }
  }

  private Future<Object> send() {
    RedisConnection c = connection;
    Future<RedisConnection> ready = c != null ? Future.succeededFuture(c) : redis.connect().andThen(ar -> {
      synchronized (this) {
        if (ar.succeeded()) {
          connection = ar.result();
        }
      }
    });
    return ready.compose(conn -> conn.send(Request.cmd(Command.PING)).map(pong -> pong));
  }

  synchronized Future<Void> close() {
    RedisConnection c = connection;
    connection = null;
    return c == null ? Future.succeededFuture() : c.close();
  }
}
