package ai.gpt.api.metering;

import ai.gpt.api.limits.SettledUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Settlements Redis refused (it was down), waiting to be replayed. Replaying is safe: settle_v1.lua is
 * idempotent by request id, so one that did reach Redis before the error is not charged twice.
 */
final class PendingSettlements {
  record Pending(SettledUsage usage, long endedNanos) {}

  private final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();

  void add(Pending p) {
    queue.add(p);
    size.incrementAndGet();
  }

  int size() {
    return size.get();
  }

  /** Takes up to {@code max} settlements, oldest first. */
  List<Pending> take(int max) {
    List<Pending> out = new ArrayList<>();
    Pending p;
    while (out.size() < max && (p = queue.poll()) != null) {
      size.decrementAndGet();
      out.add(p);
    }
    return out;
  }
}
