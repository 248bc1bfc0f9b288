package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageStreams.GROUP;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes over (XAUTOCLAIM) entries left pending by a dead writer once idle for {@code claimIdleMs}; they become
 * this consumer's pending entries, which its reader then reads again.
 */
final class StaleEntryClaimer {
  // Under the writer's name, like all its log lines, so one logger setting covers the writer.
  private static final Logger LOG = LoggerFactory.getLogger(UsageWriter.class);
  /** Bounds one pass over a shard: whatever is left is claimed on the next pass. */
  private static final int MAX_ROUNDS = 100;

  private final WriterConnection redis;
  private final UsageStreamReader reader;
  private final String consumer;
  private final UsageWriterSettings settings;

  StaleEntryClaimer(WriterConnection redis, UsageStreamReader reader, String consumer,
      UsageWriterSettings settings) {
    this.redis = redis;
    this.reader = reader;
    this.consumer = consumer;
    this.settings = settings;
  }

  Future<Void> claim(int shard) {
    return claim(shard, "0-0", 0);
  }

  private Future<Void> claim(int s, String cursor, int round) {
    String key = UsageStreams.key(s);
    Request r = Request.cmd(Command.XAUTOCLAIM).arg(key).arg(GROUP).arg(consumer).arg(settings.claimIdleMs())
        .arg(cursor).arg("COUNT").arg(settings.batchSize()).arg("JUSTID");
    return redis.send(r).compose(reply -> {
      String next = reply.get(0).toString();
      int claimed = reply.get(1) == null ? 0 : reply.get(1).size();
      if (claimed > 0) {
        reader.replayPending(s);
        LOG.info("Usage writer {} took over {} entries of {} idle for over {} ms", consumer, claimed, key,
            settings.claimIdleMs());
      }
      return "0-0".equals(next) || round >= MAX_ROUNDS ? Future.<Void>succeededFuture() : claim(s, next, round + 1);
    });
  }
}
