package ai.gpt.api.usage;

import ai.gpt.api.usage.StreamReplies.Entry;
import java.util.ArrayList;
import java.util.List;

/** At most batchSize events written in one transaction, plus entries that are only rejected or acknowledged. */
final class Chunk {
  final List<Item> items;
  final List<Reject> rejects = new ArrayList<>();
  final List<Entry> acks = new ArrayList<>();

  Chunk(List<Item> items) {
    this.items = items;
  }

  /** One event (unique request id) and every stream entry that carried it. */
  static final class Item {
    final UsageRecord record;
    final List<Entry> entries = new ArrayList<>(1);

    Item(UsageRecord record, Entry first) {
      this.record = record;
      entries.add(first);
    }
  }

  /** An entry that can never be stored, and why. */
  record Reject(Entry entry, String error) {}
}
