package ai.gpt.api.auth;

import ai.gpt.api.config.RedisClients;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Redis pub/sub so that a key revoked or changed anywhere (CLI, dashboard, another replica) stops working
 * on every gateway replica at once. While the subscription is down we cannot hear revocations, so the
 * whole cache is dropped when it comes back.
 */
public final class KeyInvalidations {
  public static final String CHANNEL = "gptapi:keys:invalidate";
  private static final Logger LOG = LoggerFactory.getLogger(KeyInvalidations.class);
  private static final long RETRY_MS = 500;

  private final Vertx vertx;
  private final Redis client;
  private final KeyStore store;
  private volatile RedisConnection connection;
  private volatile boolean closed;

  private KeyInvalidations(Vertx vertx, String redisUrl, KeyStore store) {
    this.vertx = vertx;
    // Pub/sub needs no cluster routing: a Redis Cluster delivers PUBLISH to the subscribers on every node.
    this.client = Redis.createClient(vertx,
        new RedisOptions().setConnectionString(RedisClients.nodes(redisUrl).get(0)));
    this.store = store;
  }

  /** Subscribes and keeps the subscription alive; the returned future completes on the first subscribe. */
  /** Not a public id (those are base62), so it cannot collide with one. */
  private static final String ALL = "*";

  public static Future<KeyInvalidations> start(Vertx vertx, String redisUrl, KeyStore store) {
    KeyInvalidations bus = new KeyInvalidations(vertx, redisUrl, store);
    return bus.subscribe().map(bus);
  }

  /** Tells every replica to forget a key; used after revoke, disable or edit. */
  public static Future<Void> publish(Redis redis, String publicId) {
    return redis.send(Request.cmd(Command.PUBLISH).arg(CHANNEL).arg(publicId)).mapEmpty();
  }

  /** Tells every replica to reload every key, e.g. after an organization's limits or plan changed. */
  public static Future<Void> publishAll(Redis redis) {
    return publish(redis, ALL);
  }

  /**
   * {@link #publishAll} after a committed change ({@code change} names it for the log): a failure is only logged,
   * since the change is made and every replica's cached keys expire within {@link KeyStore#TTL} anyway.
   */
  public static Future<Void> publishAllAfter(Redis redis, String change) {
    return publishAll(redis).recover(err -> {
      LOG.warn("Could not publish the key reload after {}: {}", change, err.toString());
      return Future.succeededFuture();
    });
  }

  public Future<Void> close() {
    closed = true;
    RedisConnection c = connection;
    if (c != null) {
      c.close();
    }
    return client.close();
  }

  private Future<Void> subscribe() {
    return client.connect().compose(conn -> {
      connection = conn;
      conn.handler(this::onMessage);
      conn.exceptionHandler(err -> LOG.warn("Key invalidation subscription failed: {}", err.getMessage()));
      conn.endHandler(v -> reconnectLater());
      return conn.send(Request.cmd(Command.SUBSCRIBE).arg(CHANNEL));
    }).map(ok -> {
      store.invalidateAll();
      return (Void) null;
    });
  }

  private void reconnectLater() {
    if (closed) {
      return;
    }
    store.invalidateAll();
    vertx.setTimer(RETRY_MS, id -> subscribe().onFailure(err -> reconnectLater()));
  }

  private void onMessage(Response msg) {
    // Pushed messages arrive as ["message", channel, payload].
    if (msg.type() == ResponseType.PUSH && msg.size() == 3 && "message".equals(msg.get(0).toString())) {
      String payload = msg.get(2).toString();
      if (ALL.equals(payload)) {
        store.invalidateAll();
      } else {
        store.invalidate(payload);
      }
    }
  }
}
