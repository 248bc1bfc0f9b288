package ai.gpt.api.limits;

import ai.gpt.api.usage.UsageStreams;

/**
 * Names of every metering key in Redis. All keys of one organization carry the hash tag {@code {s<orgId % 16>}}
 * (the tag of its usage stream, {@link UsageStreams}), so they live in one Redis Cluster slot and one script call
 * may touch all of them.
 *
 * <pre>
 * gptapi:{s&lt;shard&gt;}:org:&lt;orgId&gt;:balance        string  hot balance, integer micro-USD
 * gptapi:{s&lt;shard&gt;}:org:&lt;orgId&gt;:holds          hash    requestId -&gt; held micros, "_total" = sum
 * gptapi:{s&lt;shard&gt;}:org:&lt;orgId&gt;:holdexp        zset    requestId -&gt; hold expiry ms
 * gptapi:{s&lt;shard&gt;}:org:&lt;orgId&gt;:balgen         string  generation of the hot balance (bumped on each drop)
 * gptapi:{s&lt;shard&gt;}:req:&lt;requestId&gt;            string  one request's packed reservation, then "S" (24 h)
 * gptapi:{s&lt;shard&gt;}:conc:&lt;keyId&gt;               zset    requestId -&gt; lease expiry ms
 * gptapi:{s&lt;shard&gt;}:lim:&lt;org|key&gt;:&lt;id&gt;    string  the scope's six buckets ({@link ScopeBuckets})
 * gptapi:{s&lt;shard&gt;}:usage                        stream  usage events of the shard's orgs
 * </pre>
 */
public final class RedisKeys {
  public static final String PREFIX = "gptapi:";

  private RedisKeys() {}

  public static int shard(long orgId) {
    return UsageStreams.shardOf(orgId);
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

  /** A request's reservation while it is in flight, then its settlement marker {@code S}. */
  public static String request(long orgId, String requestId) {
    return base(orgId) + "req:" + requestId;
  }

  public static String concurrency(long orgId, long keyId) {
    return base(orgId) + "conc:" + keyId;
  }

  /** The six buckets of one scope ({@link ScopeBuckets}): {@code id} is the org id for scope org, else the key id. */
  public static String limits(long orgId, Bucket.Scope scope, long id) {
    return base(orgId) + "lim:" + scope.code() + ":" + id;
  }

  /** The buckets of {@code scope} for a request by org {@code orgId} with key {@code keyId}. */
  public static String limits(long orgId, long keyId, Bucket.Scope scope) {
    return limits(orgId, scope, scope == Bucket.Scope.ORG ? orgId : keyId);
  }

  /** The stream an organization's usage events go to. */
  public static String usageStreamOf(long orgId) {
    return UsageStreams.keyForOrg(orgId);
  }
}
