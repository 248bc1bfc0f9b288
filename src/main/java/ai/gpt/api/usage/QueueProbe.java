package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageStreams.SHARDS;

import ai.gpt.api.usage.StreamReplies.Entry;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Measures the usage queue for the metrics (and the status page), so a writer falling behind shows before Redis fills
 * up: the events waiting in the usage streams, and those handed to this writer in memory and not stored yet.
 */
final class QueueProbe {
  /** Events waiting in a writer's memory: how many, and the oldest one's ts_ms (Long.MAX_VALUE when none). */
  record InMemory(long events, long oldestTsMs) {}

  private final WriterConnection redis;
  private final UsageWriterMetrics metrics;
  private final Supplier<InMemory> inMemory;

  /** @param inMemory read on the writer's context, where the probe's answers arrive */
  QueueProbe(WriterConnection redis, UsageWriterMetrics metrics, Supplier<InMemory> inMemory) {
    this.redis = redis;
    this.metrics = metrics;
    this.inMemory = inMemory;
  }

  /** Queue length (XLEN summed, plus the events in memory) and writer lag (now minus the oldest one's ts_ms). */
  void probe() {
    List<Future<List<Response>>> probes = new ArrayList<>(SHARDS);
    for (int s = 0; s < SHARDS; s++) {
      String key = UsageStreams.key(s);
      probes.add(redis.batch(List.of(Request.cmd(Command.XLEN).arg(key),
          Request.cmd(Command.XRANGE).arg(key).arg("-").arg("+").arg("COUNT").arg(1))));
    }
    Future.all(probes).onSuccess(v -> {
      // On the writer's context (WriterConnection completes there), so its loop cannot change what is counted.
      InMemory waiting = inMemory.get();
      long length = waiting.events();
      long oldest = waiting.oldestTsMs();
      for (int s = 0; s < SHARDS; s++) {
        List<Response> r = probes.get(s).result();
        length += r.get(0).toLong();
        for (Entry e : StreamReplies.entries(r.get(1), s)) {
          long ts = e.idMillis();
          if (e.fields() != null) {
            try {
              ts = Long.parseLong(e.fields().getOrDefault(UsageStreams.TS_MS, Long.toString(ts)));
            } catch (NumberFormatException ignored) {
              // malformed entry: keep the entry id's time
            }
          }
          oldest = Math.min(oldest, ts);
        }
      }
      metrics.queue(length, oldest == Long.MAX_VALUE ? 0 : System.currentTimeMillis() - oldest);
    });
  }
}
