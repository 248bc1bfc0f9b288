package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageStreams.SHARDS;

import ai.gpt.api.usage.StreamReplies.Entry;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;

/** Measures the usage queue for the metrics, so a writer falling behind shows before Redis fills up. */
final class QueueProbe {
  private final WriterConnection redis;
  private final UsageWriterMetrics metrics;

  QueueProbe(WriterConnection redis, UsageWriterMetrics metrics) {
    this.redis = redis;
    this.metrics = metrics;
  }

  /** Queue length (XLEN summed) and writer lag (now minus the oldest waiting event's ts_ms). */
  void probe() {
    List<Future<List<Response>>> probes = new ArrayList<>(SHARDS);
    for (int s = 0; s < SHARDS; s++) {
      String key = UsageStreams.key(s);
      probes.add(redis.batch(List.of(Request.cmd(Command.XLEN).arg(key),
          Request.cmd(Command.XRANGE).arg(key).arg("-").arg("+").arg("COUNT").arg(1))));
    }
    Future.all(probes).onSuccess(v -> {
      long length = 0;
      long oldest = Long.MAX_VALUE;
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
