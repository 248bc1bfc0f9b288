package ai.gpt.api.limits;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Group commit's bookkeeping for one destination (a hash tag, a stream): what waits to be sent and how many of its
 * calls are in flight. Nothing waits while nothing is in flight (a lone item is sent at once); items arriving while
 * a call is in flight wait for its answer and then go together, up to {@code maxBatch} (a full batch goes at once).
 * Not thread-safe: its owner guards it.
 */
final class BatchQueue<T> {
  private final ArrayDeque<T> waiting = new ArrayDeque<>();
  private final int maxBatch;
  private int inFlight;

  BatchQueue(int maxBatch) {
    this.maxBatch = maxBatch;
  }

  void add(T item) {
    waiting.add(item);
  }

  /** The next batch if it is due (nothing in flight, or a full batch waiting), counted as in flight; else null. */
  List<T> takeIfDue() {
    if (waiting.isEmpty() || (inFlight > 0 && waiting.size() < maxBatch)) {
      return null;
    }
    List<T> batch = new ArrayList<>(Math.min(waiting.size(), maxBatch));
    while (!waiting.isEmpty() && batch.size() < maxBatch) {
      batch.add(waiting.poll());
    }
    inFlight++;
    return batch;
  }

  /** One call answered (or given up on). */
  void released() {
    inFlight--;
  }

  /** Nothing waiting, nothing in flight. */
  boolean idle() {
    return inFlight == 0 && waiting.isEmpty();
  }
}
