package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageStreams.GROUP;

import ai.gpt.api.usage.Chunk.Item;
import ai.gpt.api.usage.Chunk.Reject;
import ai.gpt.api.usage.StreamReplies.Entry;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Acknowledges a committed chunk's entries and deletes them at once (XACK + XDEL), so the streams hold only
 * what is still to be written.
 */
final class ChunkAcknowledger {
  private final WriterConnection redis;
  private final UsageWriterMetrics metrics;

  ChunkAcknowledger(WriterConnection redis, UsageWriterMetrics metrics) {
    this.redis = redis;
    this.metrics = metrics;
  }

  /** Every entry the chunk covers: its events' (duplicates too), its rejects' and the ones only to clear. */
  Future<Void> acknowledge(Chunk chunk) {
    List<Entry> done = new ArrayList<>(chunk.acks);
    int repeated = 0;
    for (Item item : chunk.items) {
      done.addAll(item.entries);
      repeated += item.entries.size() - 1;
    }
    for (Reject reject : chunk.rejects) {
      done.add(reject.entry());
    }
    metrics.duplicates(repeated);
    return ack(done);
  }

  /** One pipelined XACK + XDEL per shard, as each shard is its own Redis Cluster slot. */
  private Future<Void> ack(List<Entry> entries) {
    Map<Integer, List<String>> byShard = new TreeMap<>();
    for (Entry e : entries) {
      byShard.computeIfAbsent(e.shard(), s -> new ArrayList<>()).add(e.id());
    }
    List<Future<?>> acks = new ArrayList<>(byShard.size());
    byShard.forEach((shard, ids) -> {
      String key = UsageStreams.key(shard);
      Request xack = Request.cmd(Command.XACK).arg(key).arg(GROUP);
      Request xdel = Request.cmd(Command.XDEL).arg(key);
      for (String id : ids) {
        xack.arg(id);
        xdel.arg(id);
      }
      acks.add(redis.batch(List.of(xack, xdel)));
    });
    return Future.all(acks).mapEmpty();
  }
}
