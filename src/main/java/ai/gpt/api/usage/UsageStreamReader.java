package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageStreams.GROUP;
import static ai.gpt.api.usage.UsageStreams.SHARDS;

import ai.gpt.api.usage.StreamReplies.Entry;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Reads this consumer's usage entries from every shard stream through the consumer group (XREADGROUP COUNT
 * {@code batchSize} without BLOCK, so polling never holds the connection): first its own pending entries (at
 * start, after a failure or a take-over), then new ones.
 */
final class UsageStreamReader {
  /** Storable events by request id, then the entries that are only rejected or acknowledged. */
  private static final Comparator<Parsed> PARSED_ORDER = Comparator.comparing(
      (Parsed p) -> p.record == null ? null : p.record.requestId(), Comparator.nullsLast(Comparator.naturalOrder()));

  private final WriterConnection redis;
  private final String consumer;
  private final int batchSize;
  private final String[] keys = new String[SHARDS];
  private final boolean[] ownPending = new boolean[SHARDS];
  private final int[] pendingEpoch = new int[SHARDS];
  private final String[] cursor = new String[SHARDS];
  private boolean groupsReady;

  UsageStreamReader(WriterConnection redis, String consumer, int batchSize) {
    this.redis = redis;
    this.consumer = consumer;
    this.batchSize = batchSize;
    for (int s = 0; s < SHARDS; s++) {
      keys[s] = UsageStreams.key(s);
    }
    Arrays.fill(ownPending, true);
    Arrays.fill(cursor, "0");
  }

  /**
   * XGROUP CREATE … 0 MKSTREAM on every shard. The group starts at 0, not $, so events the gateway queued
   * before any writer ever ran are written too (processed entries are deleted, so 0 replays nothing).
   */
  Future<Void> ensureGroups() {
    List<Future<?>> creates = new ArrayList<>(SHARDS);
    for (int s = 0; s < SHARDS; s++) {
      Request r = Request.cmd(Command.XGROUP).arg("CREATE").arg(keys[s]).arg(GROUP).arg("0").arg("MKSTREAM");
      creates.add(redis.send(r).recover(e -> StepFailure.message(e).startsWith("BUSYGROUP")
          ? Future.succeededFuture() : Future.failedFuture(e)));
    }
    return Future.all(creates).map(v -> {
      groupsReady = true;
      return null;
    });
  }

  boolean groupsReady() {
    return groupsReady;
  }

  /** The streams were lost (Redis restarted empty): the groups are created again before the next read. */
  void groupsLost() {
    groupsReady = false;
  }

  /** One read of every shard, shards in order. */
  Future<List<Parsed>> read() {
    List<Future<ShardRead>> reads = new ArrayList<>(SHARDS);
    for (int s = 0; s < SHARDS; s++) {
      reads.add(readShard(s));
    }
    return Future.all(reads).map(all -> {
      List<Parsed> entries = new ArrayList<>();
      for (Future<ShardRead> f : reads) {
        entries.addAll(f.result().parsed);
      }
      return entries;
    });
  }

  /** The next read of shard {@code s} starts with this consumer's pending entries, from the first. */
  void replayPending(int s) {
    ownPending[s] = true;
    cursor[s] = "0";
    pendingEpoch[s]++;
  }

  void replayAllPending() {
    for (int s = 0; s < SHARDS; s++) {
      replayPending(s);
    }
  }

  /**
   * Pages through this consumer's pending entries with a cursor, so entries still queued or being written are
   * not read twice, and reads new entries once none are left.
   */
  private Future<ShardRead> readShard(int s) {
    if (!ownPending[s]) {
      return read(s, ">");
    }
    int epoch = pendingEpoch[s];
    return read(s, cursor[s]).compose(got -> {
      if (pendingEpoch[s] != epoch) {
        return Future.succeededFuture(got); // reset meanwhile (failure or take-over): start over from 0
      }
      if (got.lastId != null) {
        cursor[s] = got.lastId;
        return Future.succeededFuture(got);
      }
      ownPending[s] = false;
      cursor[s] = "0";
      return read(s, ">");
    });
  }

  private Future<ShardRead> read(int s, String from) {
    Request r = Request.cmd(Command.XREADGROUP).arg("GROUP").arg(GROUP).arg(consumer)
        .arg("COUNT").arg(batchSize).arg("STREAMS").arg(keys[s]).arg(from);
    return redis.send(r).map(reply -> parse(StreamReplies.readGroup(reply, s, keys[s])));
  }

  /**
   * Parses one shard's entries as they arrive (so no callback handles more than one read of one shard) and
   * sorts them by request id: with shards concatenated in order, every batch is sorted by (shard, request id),
   * so concurrent transactions take their unique-index locks in the same order and cannot deadlock on a
   * replayed event, and each batch covers few shards, so acknowledging it takes few Redis round trips.
   */
  private static ShardRead parse(List<Entry> entries) {
    if (entries.isEmpty()) {
      return new ShardRead(List.of(), null);
    }
    List<Parsed> parsed = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      if (e.fields() == null) {
        parsed.add(new Parsed(e, null, null)); // deleted while pending: only the pending mark to clear
        continue;
      }
      try {
        parsed.add(new Parsed(e, UsageRecord.parse(e.fields(), e.idMillis()), null));
      } catch (IllegalArgumentException ex) {
        parsed.add(new Parsed(e, null, ex.getMessage()));
      }
    }
    parsed.sort(PARSED_ORDER);
    return new ShardRead(parsed, entries.get(entries.size() - 1).id());
  }

  /** A stream entry with its record, or why it cannot be stored (record and error null: deleted entry). */
  record Parsed(Entry entry, UsageRecord record, String error) {}

  /** One shard's read, parsed; lastId is the greatest entry id read (null when nothing was read). */
  private record ShardRead(List<Parsed> parsed, String lastId) {}
}
