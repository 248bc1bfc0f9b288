package ai.gpt.api.usage;

import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The usage queue the writers consume: one Redis Stream per shard, hash-tagged {@code {s<shard>}} so each shard is one
 * Redis Cluster slot. Every entry is one settled request whose fields are the strings named by the constants below.
 * The settlement script ({@code lua/settle_v7.lua}) appends each event to its organization's outbox
 * ({@code ai.gpt.api.limits.RedisKeys#outbox}, tagged by organization so organizations spread over the cluster);
 * the gateway then copies it here with {@link #OUTBOX_ID}, and the writer deletes both once PostgreSQL has it.
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
  /** The fields settle_v7.lua gives an event, in its order (the copy here adds {@link #OUTBOX_ID}). */
  public static final List<String> EVENT_FIELDS = List.of(REQUEST_ID, ORG_ID, KEY_ID, MODEL, BACKEND_ID, ENDPOINT,
      PROMPT_TOKENS, COMPLETION_TOKENS, CACHED_TOKENS, COST_MICROS, STATUS, ESTIMATED, LATENCY_MS, TTFT_MS, TS_MS);

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
   * The copy of one event to a shard stream: XADD of {@link #EVENT_FIELDS} in their order, each with
   * {@code valueOf(its index)} (null: left out), then {@link #OUTBOX_ID}. The gateway's first copy
   * ({@code ShardForwarder}) and the outbox sweep's late one ({@link OutboxRecovery}) are this one command, so a
   * writer cannot tell them apart.
   */
  public static Request copy(String stream, IntFunction<String> valueOf, String outboxId) {
    Request xadd = Request.cmd(Command.XADD).arg(stream).arg("*");
    for (int i = 0; i < EVENT_FIELDS.size(); i++) {
      String value = valueOf.apply(i);
      if (value != null) {
        xadd.arg(EVENT_FIELDS.get(i)).arg(value);
      }
    }
    return xadd.arg(OUTBOX_ID).arg(outboxId);
  }

  /** The stream an organization's usage events go to. */
  public static String keyForOrg(long orgId) {
    return key(shardOf(orgId));
  }
}
