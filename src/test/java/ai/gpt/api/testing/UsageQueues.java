package ai.gpt.api.testing;

import ai.gpt.api.usage.UsageStreams;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

/**
 * What the usage writers still have to do, read from Redis: the writer deletes a stream entry only after its row and
 * debit committed, so empty streams with nothing pending mean everything settled so far is in PostgreSQL.
 */
public final class UsageQueues {
  private UsageQueues() {}

  /** Entries still in the usage streams. */
  public static long entries(Redis redis) {
    long n = 0;
    for (int s = 0; s < UsageStreams.SHARDS; s++) {
      n += redis.send(Request.cmd(Command.XLEN).arg(UsageStreams.key(s))).await().toLong();
    }
    return n;
  }

  /** Entries delivered to a consumer and not acknowledged. */
  public static long pending(Redis redis) {
    long n = 0;
    for (int s = 0; s < UsageStreams.SHARDS; s++) {
      Response r = redis.send(Request.cmd(Command.XPENDING).arg(UsageStreams.key(s)).arg(UsageStreams.GROUP))
          .recover(e -> String.valueOf(e.getMessage()).startsWith("NOGROUP")
              ? Future.succeededFuture(null) : Future.failedFuture(e))
          .await();
      n += r == null ? 0 : r.get(0).toLong();
    }
    return n;
  }
}
