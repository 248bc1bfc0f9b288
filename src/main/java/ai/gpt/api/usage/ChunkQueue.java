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

  /**
   * Forgets everything queued: stream entries are still pending in Redis; the events handed off in memory, which are
   * in no stream, are returned to be kept.
   */
  List<Parsed> clear() {
    List<Parsed> handedOff = new ArrayList<>();
    for (Chunk chunk : chunks) {
      handedOff.addAll(handedOff(chunk));
    }
    chunks.clear();
    events = 0;
    return handedOff;
  }

  /** Adds the handed-off events of the queued chunks to {@code waiting}. */
  void countHandedOff(HandedOffCount waiting) {
    for (Chunk chunk : chunks) {
      waiting.add(chunk);
    }
  }

  /** Events handed off in memory and not stored yet: how many, and the oldest one's ts_ms. */
  static final class HandedOffCount {
    long events;
    long oldestTsMs = Long.MAX_VALUE;

    void add(UsageRecord record) {
      events++;
      oldestTsMs = Math.min(oldestTsMs, record.tsMs());
    }

    void add(Chunk chunk) {
      for (Item item : chunk.items) {
        for (StreamReplies.Entry e : item.entries) {
          if (!e.inStream()) {
            add(item.record);
          }
        }
      }
    }
  }

  /** The chunk's events that were handed off in memory (in no stream), as they were read. */
  static List<Parsed> handedOff(Chunk chunk) {
    List<Parsed> out = new ArrayList<>();
    for (Item item : chunk.items) {
      for (StreamReplies.Entry e : item.entries) {
        if (!e.inStream()) {
          out.add(new Parsed(e, item.record, null));
        }
      }
    }
    return out;
  }
}
