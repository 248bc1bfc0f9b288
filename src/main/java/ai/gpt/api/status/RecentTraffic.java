package ai.gpt.api.status;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The per-model counts of the samples of a sliding window (the last minute), so the live error share weighs
 * enough requests to mean something whatever the sampling interval. Used from the status monitor's context only.
 */
final class RecentTraffic {
  private record Slice(Instant at, Map<String, TrafficCounts.Counts> counts) {}

  private final Duration window;
  private final ArrayDeque<Slice> slices = new ArrayDeque<>();

  RecentTraffic(Duration window) {
    this.window = window;
  }

  /** Adds one sample's counts and returns the sums over the window ending at {@code at}. */
  Map<String, TrafficCounts.Counts> add(Instant at, Map<String, TrafficCounts.Counts> counts) {
    slices.addLast(new Slice(at, counts));
    Instant oldest = at.minus(window);
    while (slices.peekFirst().at().isBefore(oldest)) {
      slices.removeFirst();
    }
    Map<String, TrafficCounts.Counts> sum = new HashMap<>();
    for (Slice s : slices) {
      s.counts().forEach((model, c) -> sum.merge(model, c, TrafficCounts.Counts::plus));
    }
    return sum;
  }
}
