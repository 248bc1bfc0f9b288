package ai.gpt.api.usage;

import ai.gpt.api.usage.StreamReplies.Entry;
import ai.gpt.api.usage.UsageStreamReader.Parsed;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The usage writer's side of the hand-off ({@link UsageHandoff}): settled events offered from any event loop wait
 * here until the writer's next read takes them, and come back when their write fails. It bounds what one process
 * holds in memory: at most {@code limit} handed-off events not committed yet, wherever they are (waiting here,
 * queued, being written, or put back after a failed write), so a long PostgreSQL outage cannot grow it; beyond
 * that, offers are refused and the gateway copies the events to the shard streams.
 */
final class HandoffInbox {
  private final ConcurrentLinkedQueue<Parsed> waiting = new ConcurrentLinkedQueue<>();
  /** How many wait here (a ConcurrentLinkedQueue's size() walks it). */
  private final AtomicInteger waitingCount = new AtomicInteger();
  /** Handed-off events in memory and not committed, here or in the writer's hands: what the bound counts. */
  private final AtomicInteger held = new AtomicInteger();
  private final int limit;
  private final int batchSize;
  private final UsageWriterMetrics metrics;
  private final Runnable batchWaiting;
  /** Between the writer's start and its stop: offers are taken. */
  private volatile boolean open;

  /** @param batchWaiting called (on the offering thread) once a whole batch waits, to read it without delay */
  HandoffInbox(int limit, int batchSize, UsageWriterMetrics metrics, Runnable batchWaiting) {
    this.limit = limit;
    this.batchSize = batchSize;
    this.metrics = metrics;
    this.batchWaiting = batchWaiting;
  }

  void open(boolean open) {
    this.open = open;
  }

  /** See {@link UsageWriter#offer}. */
  boolean offer(UsageRecord record, Map<String, String> fields, String outboxId) {
    if (!open || held.get() >= limit) {
      return false;
    }
    fields.put(UsageStreams.OUTBOX_ID, outboxId);
    held.incrementAndGet();
    waiting.add(new Parsed(Entry.handedOff(UsageStreams.shardOf(record.orgId()), fields), record, null));
    metrics.handedOff();
    if (waitingCount.incrementAndGet() == batchSize) {
      batchWaiting.run();
    }
    return true;
  }

  /** Everything waiting, by request id (as each shard's read is sorted). */
  List<Parsed> take() {
    List<Parsed> taken = new ArrayList<>();
    for (Parsed p = waiting.poll(); p != null; p = waiting.poll()) {
      taken.add(p);
    }
    waitingCount.addAndGet(-taken.size());
    taken.sort(Comparator.comparing(p -> p.record().requestId()));
    return taken;
  }

  /** Taken events whose write failed or was dropped: they wait again for the next attempt. */
  void putBack(List<Parsed> events) {
    waiting.addAll(events);
    waitingCount.addAndGet(events.size());
  }

  /** Taken events now committed: they no longer count against the bound. */
  void committed(int events) {
    held.addAndGet(-events);
  }

  /** Adds the events waiting here to {@code count}. */
  void countWaiting(ChunkQueue.HandedOffCount count) {
    for (Parsed p : waiting) {
      count.add(p.record());
    }
  }
}
