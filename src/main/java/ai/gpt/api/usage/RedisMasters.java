package ai.gpt.api.usage;

import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import java.util.List;

/**
 * Every master of the Redis deployment, for commands that concern a node rather than a key (SCAN for the
 * organizations' outboxes, which are spread over all of them in a Redis Cluster).
 */
public interface RedisMasters {
  /** A client for each master, as the deployment stands now (asked again for each sweep: the topology may change). */
  Future<List<Redis>> masters();

  /** Closes the clients this opened (not a client it was given). */
  default void close() {}

  /** A standalone Redis: its one server is the master. */
  static RedisMasters standalone(Redis redis) {
    return () -> Future.succeededFuture(List.of(redis));
  }
}
