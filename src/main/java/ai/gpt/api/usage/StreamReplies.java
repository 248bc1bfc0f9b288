package ai.gpt.api.usage;

import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Decodes Redis stream replies, in RESP2 (arrays) or RESP3 (maps) shape. */
final class StreamReplies {
  private StreamReplies() {}

  /**
   * One entry of a usage stream; {@code fields} is null when the entry was deleted while pending. An event handed to
   * the writer in memory ({@link UsageWriter#offer}) is an entry with no id: it is in no stream, only in its
   * organization's outbox.
   */
  record Entry(int shard, String id, Map<String, String> fields) {
    static Entry handedOff(int shard, Map<String, String> fields) {
      return new Entry(shard, null, fields);
    }

    /** Whether it is a stream entry (to acknowledge there), not an event handed off in memory. */
    boolean inStream() {
      return id != null;
    }

    long idMillis() {
      int dash = id.indexOf('-');
      return Long.parseLong(dash < 0 ? id : id.substring(0, dash));
    }
  }

  /** The entries of an XREADGROUP reply for one stream (nil when nothing was available). */
  static List<Entry> readGroup(Response reply, int shard, String key) {
    if (reply == null) {
      return List.of();
    }
    Response entries;
    if (reply.isMap()) {
      entries = reply.get(key);
    } else {
      entries = reply.size() == 0 ? null : reply.get(0).get(1);
    }
    return entries(entries, shard);
  }

  /** An array of {@code [id, [field, value, …]]} as returned by XRANGE and XREADGROUP. */
  static List<Entry> entries(Response entries, int shard) {
    if (entries == null || entries.size() == 0) {
      return List.of();
    }
    List<Entry> out = new ArrayList<>(entries.size());
    for (Response e : entries) {
      out.add(new Entry(shard, e.get(0).toString(), fields(e.size() > 1 ? e.get(1) : null)));
    }
    return out;
  }

  private static Map<String, String> fields(Response r) {
    if (r == null) {
      return null;
    }
    // In the entry's order: a copy made from it (OutboxRecovery) then has the fields of the stream's other
    // entries in their order, which a stream stores without repeating the names.
    Map<String, String> f = new LinkedHashMap<>(16);
    if (r.isMap()) {
      for (String k : r.getKeys()) {
        f.put(k, str(r.get(k)));
      }
    } else {
      for (int i = 0; i + 1 < r.size(); i += 2) {
        f.put(r.get(i).toString(), str(r.get(i + 1)));
      }
    }
    return f;
  }

  /** Value of a field in a RESP2 flat array or RESP3 map reply (XINFO GROUPS entries). */
  static Response field(Response r, String name) {
    if (r.isMap()) {
      return r.get(name);
    }
    for (int i = 0; i + 1 < r.size(); i += 2) {
      if (name.equals(r.get(i).toString())) {
        return r.get(i + 1);
      }
    }
    return null;
  }

  private static String str(Response r) {
    return r == null ? null : r.toString();
  }
}
