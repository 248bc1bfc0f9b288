package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageStreams.GROUP;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.List;

/**
 * Removes the entries of a shard stream that every consumer has acknowledged, with one XTRIM MINID: after each
 * acknowledged chunk ({@link ChunkAcknowledger}; one pass over the stream's oldest node instead of one seek per
 * entry, as XDEL does), and periodically, which catches a trim lost to a dropped connection.
 */
final class StreamTrimmer {
  private final WriterConnection redis;

  StreamTrimmer(WriterConnection redis) {
    this.redis = redis;
  }

  /**
   * XTRIM MINID below which every entry is delivered and acknowledged: the smallest pending id, or, with
   * nothing pending, just after the group's last delivered id (read first, so nothing delivered in between is
   * ever below it). Completes with that id, or null when the stream has nothing delivered (nothing trimmed).
   */
  Future<String> trim(int shard) {
    String key = UsageStreams.key(shard);
    return redis.batch(List.of(Request.cmd(Command.XINFO).arg("GROUPS").arg(key),
        Request.cmd(Command.XPENDING).arg(key).arg(GROUP))).compose(replies -> {
          String lastDelivered = null;
          for (Response group : replies.get(0)) {
            Response name = StreamReplies.field(group, "name");
            if (name != null && GROUP.equals(name.toString())) {
              lastDelivered = StreamReplies.field(group, "last-delivered-id").toString();
            }
          }
          Response pending = replies.get(1);
          String minId;
          if (pending.get(0).toLong() > 0) {
            minId = pending.get(1).toString();
          } else if (lastDelivered != null && !"0-0".equals(lastDelivered)) {
            int dash = lastDelivered.indexOf('-');
            minId = lastDelivered.substring(0, dash + 1) + (Long.parseLong(lastDelivered.substring(dash + 1)) + 1);
          } else {
            return Future.succeededFuture(null);
          }
          return redis.send(Request.cmd(Command.XTRIM).arg(key).arg("MINID").arg(minId)).map(minId);
        });
  }

  /** Whether stream entry id {@code id} ("ms-seq") is below {@code minId}, i.e. trimmed by XTRIM MINID minId. */
  static boolean below(String id, String minId) {
    int a = id.indexOf('-');
    int b = minId.indexOf('-');
    int ms = Long.compareUnsigned(Long.parseUnsignedLong(id.substring(0, a)),
        Long.parseUnsignedLong(minId.substring(0, b)));
    return ms != 0 ? ms < 0 : Long.compareUnsigned(Long.parseUnsignedLong(id.substring(a + 1)),
        Long.parseUnsignedLong(minId.substring(b + 1))) < 0;
  }
}
