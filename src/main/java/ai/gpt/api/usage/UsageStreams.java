package ai.gpt.api.usage;

import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The usage queue the writers consume: one Redis Stream per shard, hash-tagged {@code {s<shard>}} so each shard is one
 * Redis Cluster slot. Every entry is one settled request whose fields are the strings named by the constants below.
 * The settlement script ({@code lua/settle_v8.lua}) appends each event to its organization's outbox
 * ({@code ai.gpt.api.limits.RedisKeys#outbox}, tagged by organization so organizations spread over the cluster);
 * the gateway then copies it here with {@link #OUTBOX_ID}, and the writer deletes both once PostgreSQL has it.
 *
 * <p>An event is four fields ({@link #fields}): {@link #REQUEST_ID}, {@link #ORG_ID}, {@link #USAGE} (the other
 * values in one string, {@link #PACKED_FIELDS}) and {@link #TS_MS}. Events of settle_v6.lua and earlier have one
 * field per value, named by the constants below; {@link UsageRecord#parse} reads both. Redis's cost of a stream entry
 * grows with its number of fields (the XADD's arguments, each entry an XRANGE returns), far more than with its
 * bytes (lua/README.md, "settle_v8.lua results").
 */
public final class UsageStreams {
  /** Number of shards; an organization's events go to shard {@code orgId % SHARDS}. */
  public static final int SHARDS = 16;
  /** Consumer group every usage writer joins; each entry is delivered to one writer of the group. */
  public static final String GROUP = "usage-writer";

  public static final String REQUEST_ID = "request_id";
  public static final String ORG_ID = "org_id";
  public static final String KEY_ID = "key_id";
  public static final String MODEL = "model";
  public static final String BACKEND_ID = "backend_id";
  public static final String ENDPOINT = "endpoint";
  public static final String PROMPT_TOKENS = "prompt_tokens";
  public static final String COMPLETION_TOKENS = "completion_tokens";
  public static final String CACHED_TOKENS = "cached_tokens";
  public static final String COST_MICROS = "cost_micros";
  public static final String STATUS = "status";
  /** "1" when tokens were counted by the gateway because the backend sent no usage, else "0". */
  public static final String ESTIMATED = "estimated";
  public static final String LATENCY_MS = "latency_ms";
  public static final String TTFT_MS = "ttft_ms";
  /** Epoch milliseconds of the settlement; becomes {@code usage.created_at} and the ledger row's time. */
  public static final String TS_MS = "ts_ms";
  /**
   * Id of the event's entry in its organization's outbox: the writer deletes that entry after its commit. Absent
   * from events settled by a gateway before the outbox existed (settle_v3.lua appended to the shard stream itself).
   */
  public static final String OUTBOX_ID = "outbox_id";
  /** The event's other values, comma-separated in {@link #PACKED_FIELDS} order (settle_v7.lua and later). */
  public static final String USAGE = "usage";
  /**
   * What {@link #USAGE} holds, in its order. The model, the one free-text value (an operator's model id), is last:
   * everything after the eleventh comma is the model, commas included.
   */
  public static final List<String> PACKED_FIELDS = List.of(KEY_ID, BACKEND_ID, ENDPOINT, PROMPT_TOKENS,
      COMPLETION_TOKENS, CACHED_TOKENS, COST_MICROS, STATUS, ESTIMATED, LATENCY_MS, TTFT_MS, MODEL);

  private UsageStreams() {}

  /** {@code gptapi:{s<shard>}:usage}. */
  public static String key(int shard) {
    if (shard < 0 || shard >= SHARDS) {
      throw new IllegalArgumentException("shard must be in 0.." + (SHARDS - 1) + ": " + shard);
    }
    return "gptapi:{s" + shard + "}:usage";
  }

  public static int shardOf(long orgId) {
    return (int) Math.floorMod(orgId, (long) SHARDS);
  }

  /**
   * The copy of one event to a shard stream: XADD of its fields as they are in the outbox (packed or wide), then
   * {@link #OUTBOX_ID}. The gateway's first copy ({@code ShardForwarder}) and the outbox sweep's late one
   * ({@link OutboxRecovery}) are this one command, so a writer cannot tell them apart.
   */
  public static Request copy(String stream, Map<String, String> fields, String outboxId) {
    Request xadd = Request.cmd(Command.XADD).arg(stream).arg("*");
    fields.forEach((name, value) -> {
      if (!name.equals(OUTBOX_ID)) {
        xadd.arg(name).arg(value);
      }
    });
    return xadd.arg(OUTBOX_ID).arg(outboxId);
  }

  /** An event's fields as settle_v8.lua writes them, in its order (a shard-stream copy adds {@link #OUTBOX_ID}). */
  public static Map<String, String> fields(String requestId, String orgId, String usage, String tsMs) {
    Map<String, String> f = new LinkedHashMap<>(8);
    f.put(REQUEST_ID, requestId);
    f.put(ORG_ID, orgId);
    f.put(USAGE, usage);
    f.put(TS_MS, tsMs);
    return f;
  }

  /** The stream an organization's usage events go to. */
  public static String keyForOrg(long orgId) {
    return key(shardOf(orgId));
  }
}
