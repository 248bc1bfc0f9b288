package ai.gpt.api.status;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * This replica's proxied requests since the last sample: per model, requests and 5xx answers; per backend, the
 * time to first byte. The access log adds to it when a response ends (a few LongAdder increments, no lock, no I/O);
 * the status sampler drains it. Clients that went away (499) are not counted: they say nothing about the service.
 */
public final class TrafficCounts {
  /** Requests and errors of one model in one sampling window. */
  public record Counts(long requests, long errors) {
    static final Counts NONE = new Counts(0, 0);

    Counts plus(Counts o) {
      return new Counts(requests + o.requests, errors + o.errors);
    }
  }

  private static final class Adders {
    final LongAdder requests = new LongAdder();
    final LongAdder errors = new LongAdder();
  }

  private static final class Latency {
    final LongAdder nanos = new LongAdder();
    final LongAdder count = new LongAdder();
    /** The mean of the last window that had traffic, in ms; -1 before any. */
    volatile long recentMs = -1;
  }

  private final ConcurrentHashMap<String, Adders> models = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Long, Latency> backends = new ConcurrentHashMap<>();

  /** One finished proxied request; {@code backendId} < 0 and {@code ttfbNanos} < 0 when unknown. */
  public void record(String model, int status, long backendId, long ttfbNanos) {
    if (model == null || model.isEmpty() || status == 499) {
      return;
    }
    Adders a = models.get(model);
    if (a == null) {
      // Traced models are catalog models; the bound only keeps the map finite whatever reaches it.
      if (models.size() >= 1000) {
        return;
      }
      a = models.computeIfAbsent(model, m -> new Adders());
    }
    a.requests.increment();
    if (status >= 500) {
      a.errors.increment();
    }
    if (backendId >= 0 && ttfbNanos >= 0) {
      Latency l = backends.computeIfAbsent(backendId, id -> new Latency());
      l.nanos.add(ttfbNanos);
      l.count.increment();
    }
  }

  /** The counts since the last drain, per model; called by the one sampler. */
  Map<String, Counts> drain() {
    Map<String, Counts> out = new HashMap<>();
    models.forEach((model, a) -> {
      long requests = a.requests.sumThenReset();
      long errors = a.errors.sumThenReset();
      if (requests > 0) {
        out.put(model, new Counts(requests, errors));
      }
    });
    backends.forEach((id, l) -> {
      long count = l.count.sumThenReset();
      long nanos = l.nanos.sumThenReset();
      if (count > 0) {
        l.recentMs = Math.round(nanos / 1e6 / count);
      }
    });
    return out;
  }

  /** Mean time to first byte of the backend over the last sampling window with traffic, or null if none. */
  Long recentLatencyMs(long backendId) {
    Latency l = backends.get(backendId);
    return l == null || l.recentMs < 0 ? null : l.recentMs;
  }
}
