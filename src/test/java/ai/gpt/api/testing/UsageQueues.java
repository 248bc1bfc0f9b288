package ai.gpt.api.testing;

import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.usage.UsageStreams;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;

/**
 * What the usage writers still have to do, read from a standalone Redis: the writer deletes a stream entry, and its
 * organization's outbox entry, only after its row and debit committed, so empty outboxes mean everything settled so
 * far is in PostgreSQL (and empty streams with nothing pending, that the writers have caught up).
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

  /** Every organization's outbox key (one exists only while it holds events). */
  public static List<String> outboxKeys(Redis redis) {
    List<String> keys = new ArrayList<>();
    String cursor = "0";
    do {
      Response r = redis.send(Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(RedisKeys.OUTBOX_PATTERN)
          .arg("COUNT").arg(1000)).await();
      cursor = r.get(0).toString();
      r.get(1).forEach(k -> keys.add(k.toString()));
    } while (!"0".equals(cursor));
    return keys;
  }

  /** Events in the organizations' outboxes: settled, not yet in PostgreSQL. */
  public static long outboxed(Redis redis) {
    long n = 0;
    for (String key : outboxKeys(redis)) {
      n += redis.send(Request.cmd(Command.XLEN).arg(key)).await().toLong();
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
