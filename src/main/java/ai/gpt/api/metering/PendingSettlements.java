package ai.gpt.api.metering;

import ai.gpt.api.limits.SettledUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Settlements Redis refused (it was down), waiting to be replayed. Replaying is safe: settle_v8.lua is
 * idempotent by request id, so one that did reach Redis before the error is not charged twice.
 */
final class PendingSettlements {
  /** @param allotted admitted from an allotment (see {@code RateLimiter#settle(SettledUsage, boolean)}) */
  record Pending(SettledUsage usage, boolean allotted, long endedNanos) {}

  private final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();

  /** A settlement Redis refused for the first time. */
  void add(Pending p) {
    queue.add(p);
    size.incrementAndGet();
  }

  /** A replayed settlement Redis refused again: back in the queue, still counted once. */
  void requeue(Pending p) {
    queue.add(p);
  }

  /** A replayed settlement Redis accepted (or that can never be accepted). */
  void resolved() {
    size.decrementAndGet();
  }

  /** Settlements not yet accepted by Redis, including those being replayed right now. */
  int size() {
    return size.get();
  }

  /** Takes up to {@code max} settlements to replay, oldest first; they stay counted until resolved or requeued. */
  List<Pending> take(int max) {
    List<Pending> out = new ArrayList<>();
    Pending p;
    while (out.size() < max && (p = queue.poll()) != null) {
      out.add(p);
    }
    return out;
  }
}
