package ai.gpt.api.limits;

import ai.gpt.api.usage.UsageStreams;

/**
 * Names of every metering key in Redis. All keys of one organization carry the hash tag {@code {o<orgId>}} (an API
 * key belongs to one organization, so its keys take that tag too): they live in one Redis Cluster slot, so one
 * script call may touch all of them, and the organizations spread over every slot of the cluster. The usage streams
 * the writer consumes are sharded separately ({@link UsageStreams}); an organization's settled events wait in its
 * own outbox until the writer has committed them.
 *
 * <pre>
 * gptapi:{o&lt;orgId&gt;}:org:&lt;orgId&gt;:balance        string  hot balance, integer micro-USD
 * gptapi:{o&lt;orgId&gt;}:org:&lt;orgId&gt;:holds          hash    requestId -&gt; held micros, "_total" = sum
 * gptapi:{o&lt;orgId&gt;}:org:&lt;orgId&gt;:holdexp        zset    requestId -&gt; hold expiry ms
 * gptapi:{o&lt;orgId&gt;}:org:&lt;orgId&gt;:balgen         string  generation of the hot balance (bumped on each drop)
 * gptapi:{o&lt;orgId&gt;}:req:&lt;requestId&gt;            string  one request's packed reservation, then "S" (1 h)
 * gptapi:{o&lt;orgId&gt;}:conc:&lt;keyId&gt;               zset    requestId -&gt; lease expiry ms
 * gptapi:{o&lt;orgId&gt;}:lim:&lt;org|key&gt;:&lt;id&gt;    string  the scope's six buckets ({@link ScopeBuckets})
 * gptapi:{o&lt;orgId&gt;}:outbox                      stream  the org's settled events not yet in PostgreSQL
 * </pre>
 */
public final class RedisKeys {
  public static final String PREFIX = "gptapi:";
  /** SCAN pattern of every organization's outbox. */
  public static final String OUTBOX_PATTERN = PREFIX + "{o*}:outbox";

  private RedisKeys() {}

  /** The hash tag, e.g. {@code {o42}}. */
  public static String tag(long orgId) {
    return "{o" + orgId + "}";
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

  /**
   * The organization's outbox: the settlement script appends each usage event here, atomically with the charge;
   * the gateway then copies it to the org's shard stream ({@link UsageStreams#keyForOrg}), and the usage writer
   * deletes it once PostgreSQL has it. No TTL (a queue); the writer deletes the key when it empties it.
   */
  public static String outbox(long orgId) {
    return base(orgId) + "outbox";
  }

  /** The organization of an outbox key ({@link #outbox}), or -1 if {@code key} is not one. */
  public static long orgOfOutbox(String key) {
    String head = PREFIX + "{o";
    String tail = "}:outbox";
    if (!key.startsWith(head) || !key.endsWith(tail) || key.length() <= head.length() + tail.length()) {
      return -1;
    }
    try {
      return Long.parseLong(key.substring(head.length(), key.length() - tail.length()));
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
