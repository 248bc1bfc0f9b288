package ai.gpt.api.usage;

/**
 * The durable usage queue shared with the settlement script ({@code lua/settle_v3.lua}): one Redis Stream per
 * shard, hash-tagged so each shard is one Redis Cluster slot. Every entry is one settled request whose fields
 * are the strings named by the constants below.
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

  /** The stream an organization's usage events go to. */
  public static String keyForOrg(long orgId) {
    return key(shardOf(orgId));
  }
}
