package ai.gpt.api.config;

import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import java.util.Arrays;
import java.util.List;

/**
 * The Redis client for {@code REDIS_URL}: one URL is a standalone Redis; a comma-separated list of node URLs is a
 * Redis Cluster, reached through those seed nodes (the client learns the topology from them and sends every
 * command to the node that owns its key; every metering key of an organization shares one slot, so each script
 * runs on one node).
 */
public final class RedisClients {
  private RedisClients() {}

  /** The node URLs REDIS_URL lists (one for a standalone Redis). */
  public static List<String> nodes(String redisUrl) {
    return Arrays.stream(redisUrl.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  public static boolean cluster(String redisUrl) {
    return nodes(redisUrl).size() > 1;
  }

  /** A pooled client of the right type; {@code poolSize} and {@code poolWaiting} apply per node. */
  public static Redis create(Vertx vertx, String redisUrl, int poolSize, int poolWaiting) {
    RedisOptions options = new RedisOptions().setMaxPoolSize(poolSize).setMaxPoolWaiting(poolWaiting);
    List<String> nodes = nodes(redisUrl);
    if (nodes.size() > 1) {
      options.setType(RedisClientType.CLUSTER).setEndpoints(nodes);
    } else {
      options.setConnectionString(nodes.get(0));
    }
    return Redis.createClient(vertx, options);
  }
}
