package ai.gpt.api.usage;

import ai.gpt.api.usage.Chunk.Item;
import ai.gpt.api.usage.Chunk.Reject;
import ai.gpt.api.usage.UsageStreamReader.Parsed;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The chunks read but not yet being written, counted in events so the reader can stay a bounded step ahead. */
final class ChunkQueue {
  private final int batchSize;
  private final Deque<Chunk> chunks = new ArrayDeque<>();
  private int events;

  ChunkQueue(int batchSize) {
    this.batchSize = batchSize;
  }

  /**
   * Turns one read into chunks of at most batchSize distinct request ids, in read order. An event delivered
   * twice is stored once and both entries are acknowledged with its chunk.
   */
  void add(List<Parsed> entries) {
    if (entries.isEmpty()) {
      return;
    }
    Map<String, Item> seen = new HashMap<>();
    List<Item> items = new ArrayList<>(entries.size());
    Chunk extra = new Chunk(List.of());
    for (Parsed p : entries) {
      if (p.record() == null) {
        if (p.error() == null) {
          extra.acks.add(p.entry());
        } else {
          extra.rejects.add(new Reject(p.entry(), p.error()));
        }
        continue;
      }
      Item item = seen.get(p.record().requestId());
      if (item == null) {
        item = new Item(p.record(), p.entry());
        seen.put(p.record().requestId(), item);
        items.add(item);
      } else {
        item.entries.add(p.entry());
      }
    }
    for (int i = 0; i < items.size(); i += batchSize) {
      Chunk chunk = new Chunk(items.subList(i, Math.min(items.size(), i + batchSize)));
      chunks.add(chunk);
      events += chunk.items.size();
    }
    if (!extra.acks.isEmpty() || !extra.rejects.isEmpty()) {
      chunks.add(extra);
    }
  }

  /** The oldest chunk; the queue must not be empty. */
  Chunk poll() {
    Chunk chunk = chunks.poll();
    events -= chunk.items.size();
    return chunk;
  }

  boolean isEmpty() {
    return chunks.isEmpty();
  }

  /** Storable events queued. */
  int events() {
    return events;
  }

  /** Forgets everything queued; it is still pending in Redis. */
  void clear() {
    chunks.clear();
    events = 0;
  }
}
