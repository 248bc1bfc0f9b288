package ai.gpt.api.limits;

import java.util.ArrayList;
import java.util.List;

/**
 * Names of every metering key in Redis. All keys of one organization carry the hash tag {@code {s<orgId % 16>}},
 * so they live in one Redis Cluster slot and one script call may touch all of them.
 *
 * <pre>
 * gptapi:{s&lt;shard&gt;}:org:&lt;orgId&gt;:balance        string  hot balance, integer micro-USD
 * gptapi:{s&lt;shard&gt;}:org:&lt;orgId&gt;:holds          hash    requestId -&gt; held micros, "_total" = sum
 * gptapi:{s&lt;shard&gt;}:org:&lt;orgId&gt;:holdexp        zset    requestId -&gt; hold expiry ms
 * gptapi:{s&lt;shard&gt;}:org:&lt;orgId&gt;:balgen         string  generation of the hot balance (bumped on each drop)
 * gptapi:{s&lt;shard&gt;}:req:&lt;requestId&gt;            hash    one request's reservation
 * gptapi:{s&lt;shard&gt;}:settled:&lt;requestId&gt;        string  settlement marker (24 h)
 * gptapi:{s&lt;shard&gt;}:conc:&lt;keyId&gt;               zset    requestId -&gt; lease expiry ms
 * gptapi:{s&lt;shard&gt;}:b:&lt;org|key&gt;:&lt;id&gt;:&lt;req|tok&gt;:&lt;m|h|d&gt;   hash {v, t}  token bucket
 * gptapi:{s&lt;shard&gt;}:usage                        stream  usage events of the shard's orgs
 * </pre>
 */
public final class RedisKeys {
  /** Number of shard tags, and so of usage streams. */
  public static final int SHARDS = 16;
  public static final String PREFIX = "gptapi:";

  private RedisKeys() {}

  public static int shard(long orgId) {
    return (int) Math.floorMod(orgId, (long) SHARDS);
  }

  /** The hash tag, e.g. {@code {s3}}. */
  public static String tag(long orgId) {
    return "{s" + shard(orgId) + "}";
  }

  private static String base(long orgId) {
    return PREFIX + tag(orgId) + ":";
  }

  public static String balance(long orgId) {
    return base(orgId) + "org:" + orgId + ":balance";
  }

  public static String holds(long orgId) {
    return base(orgId) + "org:" + orgId + ":holds";
  }

  /** Expiry of each hold, so the holds of requests that never settle (dead gateway) are released. */
  public static String holdExpiries(long orgId) {
    return base(orgId) + "org:" + orgId + ":holdexp";
  }

  /**
   * Bumped whenever the hot balance is dropped for a ledger change, so a load that read the ledger before the
   * change is never stored (see {@link BalanceLoads}).
   */
  public static String balanceGeneration(long orgId) {
    return base(orgId) + "org:" + orgId + ":balgen";
  }

  public static String request(long orgId, String requestId) {
    return base(orgId) + "req:" + requestId;
  }

  public static String settled(long orgId, String requestId) {
    return base(orgId) + "settled:" + requestId;
  }

  public static String concurrency(long orgId, long keyId) {
    return base(orgId) + "conc:" + keyId;
  }

  /** A bucket; {@code id} is the org id for scope org and the key id for scope key. */
  public static String bucket(long orgId, Bucket.Scope scope, long id, Bucket.Kind kind, Window window) {
    return base(orgId) + "b:" + scope.code() + ":" + id + ":" + kind.code() + ":" + window.code();
  }

  /** The bucket of a request by org {@code orgId} with key {@code keyId}. */
  public static String bucket(long orgId, long keyId, Bucket bucket) {
    long id = bucket.scope() == Bucket.Scope.ORG ? orgId : keyId;
    return bucket(orgId, bucket.scope(), id, bucket.kind(), bucket.window());
  }

  public static String usageStream(int shard) {
    if (shard < 0 || shard >= SHARDS) {
      throw new IllegalArgumentException("shard out of range: " + shard);
    }
    return PREFIX + "{s" + shard + "}:usage";
  }

  /** The stream an organization's usage events go to. */
  public static String usageStreamOf(long orgId) {
    return usageStream(shard(orgId));
  }

  /** All usage streams, for the writer to consume. */
  public static List<String> usageStreams() {
    List<String> all = new ArrayList<>(SHARDS);
    for (int s = 0; s < SHARDS; s++) {
      all.add(usageStream(s));
    }
    return all;
  }
}
