package ai.gpt.api.usage;

import static ai.gpt.api.usage.ContextFutures.onContext;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The usage writer's own Redis connection, so its polling never competes with the gateway's request traffic for
 * pooled connections and all its commands are pipelined. A command that fails drops the connection (a hung one
 * times out); the next command reconnects. Every result completes on the writer's context.
 */
final class WriterConnection {
  private final Redis redis;
  private final Context context;
  private final long timeoutMs;
  private RedisConnection connection;
  private Future<RedisConnection> connecting;
  private boolean closed;

  WriterConnection(Redis redis, Context context, long timeoutMs) {
    this.redis = redis;
    this.context = context;
    this.timeoutMs = timeoutMs;
  }

  Future<Response> send(Request request) {
    return call(c -> c.send(request));
  }

  /** Commands on one key (one Redis Cluster slot), pipelined. */
  Future<List<Response>> batch(List<Request> requests) {
    return call(c -> c.batch(requests));
  }

  /** For good: a connection still being opened is closed as soon as it is open. */
  void close() {
    closed = true;
    RedisConnection c = connection;
    connection = null;
    if (c != null) {
      c.close();
    }
  }

  private <T> Future<T> call(Function<RedisConnection, Future<T>> command) {
    // The connect is bounded too: a connection attempt that never completes (a stalled proxy, a full pool) would
    // otherwise leave the writer waiting for it forever, reading nothing.
    return onContext(context, connection().timeout(timeoutMs, TimeUnit.MILLISECONDS).compose(c -> command.apply(c)
            .timeout(timeoutMs, TimeUnit.MILLISECONDS)
            // Any failure, not only a timeout: a connection cut just as it opened can be closed without its end or
            // exception handler ever running here, and kept, it fails every command ("Connection is closed") for
            // good. An error reply from a healthy connection costs one reconnect, which is cheap.
            .onFailure(e -> drop(c))))
        .recover(e -> Future.failedFuture(new StepFailure("Redis", e)));
  }

  private Future<RedisConnection> connection() {
    if (connection != null) {
      return Future.succeededFuture(connection);
    }
    Future<RedisConnection> attempt = connecting;
    if (attempt == null) {
      Future<RedisConnection> started = onContext(context, redis.connect());
      attempt = started;
      connecting = started;
      // Given up on after timeoutMs (see call), so the next command tries again rather than waiting on it.
      context.owner().setTimer(timeoutMs, id -> {
        if (connecting == started) {
          connecting = null;
        }
      });
      // May run at once (a connect already complete): the attempt is returned below, not the field it clears.
      started.onComplete(ar -> {
        if (connecting == started) {
          connecting = null;
        }
        if (ar.succeeded()) {
          RedisConnection c = ar.result();
          if (closed || connection != null) {
            c.close(); // closed meanwhile, or a later attempt already connected
            return;
          }
          connection = c;
          c.exceptionHandler(e -> drop(c));
          c.endHandler(v -> drop(c));
        }
      });
    }
    return attempt;
  }

  private void drop(RedisConnection c) {
    context.runOnContext(v -> {
      if (connection == c) {
        connection = null;
        c.close();
      }
    });
  }
}
