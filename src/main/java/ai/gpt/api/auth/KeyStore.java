package ai.gpt.api.auth;

import ai.gpt.api.limits.Limits;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Key lookups by public id, cached in memory so the hot path does not touch PostgreSQL. The organization's data the
 * request path needs (limits, suspension for an open payment dispute) is read with the key, in one query. Entries are
 * dropped on a revocation message (see {@link KeyInvalidations}) and expire after a while anyway, so a
 * lost message cannot keep a revoked key alive for long.
 *
 * <p>Both caches are bounded by size and age: anyone can present any well-formed id, so nothing keyed by it may
 * grow with the number of ids tried. Unknown ids are remembered only briefly ({@link #MISS_TTL}), which spares
 * PostgreSQL a client that repeats one wrong key yet lets a key created after a miss work within a second. A flood
 * of different made-up ids is stopped before it gets here, by {@link AuthFailures}.
 */
public final class KeyStore {
  static final Duration TTL = Duration.ofSeconds(60);
  static final Duration MISS_TTL = Duration.ofMillis(500);
  static final long MAX_KEYS = 100_000;
  static final long MAX_MISSES = 10_000;
  private static final String SELECT = """
      SELECT k.id, k.public_id, k.secret_hash, k.org_id, o.name AS org_name, k.status, k.expires_at, k.allowed_models,
             COALESCE(o.rpm, p.rpm) AS o_rpm, COALESCE(o.rph, p.rph) AS o_rph, COALESCE(o.rpd, p.rpd) AS o_rpd,
             COALESCE(o.tpm, p.tpm) AS o_tpm, COALESCE(o.tph, p.tph) AS o_tph, COALESCE(o.tpd, p.tpd) AS o_tpd,
             COALESCE(o.concurrency, p.concurrency) AS o_concurrency,
             k.rpm AS k_rpm, k.rph AS k_rph, k.rpd AS k_rpd, k.tpm AS k_tpm, k.tph AS k_tph, k.tpd AS k_tpd,
             k.concurrency AS k_concurrency, k.kind = 'playground' AS playground,
             EXISTS (SELECT 1 FROM stripe_disputes d WHERE d.org_id = o.id AND d.closed_at IS NULL) AS suspended
        FROM api_keys k JOIN organizations o ON o.id = k.org_id JOIN plans p ON p.id = o.plan_id
       WHERE k.public_id = $1""";

  private final Pool pool;
  private final Cache<String, ApiKey> keys =
      Caffeine.newBuilder().maximumSize(MAX_KEYS).expireAfterWrite(TTL).build();
  private final Cache<String, Boolean> misses =
      Caffeine.newBuilder().maximumSize(MAX_MISSES).expireAfterWrite(MISS_TTL).build();
  /** Bumped by every invalidation: a lookup that raced with one must not cache what it read before it. */
  private final AtomicLong generation = new AtomicLong();
  private final AtomicLong queries = new AtomicLong();

  public KeyStore(Pool pool) {
    this.pool = pool;
  }

  public Future<Optional<ApiKey>> find(String publicId) {
    ApiKey cached = keys.getIfPresent(publicId);
    if (cached != null) {
      return Future.succeededFuture(Optional.of(cached));
    }
    if (misses.getIfPresent(publicId) != null) {
      return Future.succeededFuture(Optional.empty());
    }
    long seen = generation.get();
    queries.incrementAndGet();
    return pool.preparedQuery(SELECT).execute(Tuple.of(publicId)).map(rows -> {
      ApiKey key = rows.size() == 0 ? null : toKey(rows.iterator().next());
      if (generation.get() == seen) {
        if (key == null) {
          misses.put(publicId, Boolean.TRUE);
        } else {
          keys.put(publicId, key);
        }
      }
      return Optional.ofNullable(key);
    });
  }

  /** The key if this replica has it cached, else null; never queries PostgreSQL. */
  public ApiKey cached(String publicId) {
    return keys.getIfPresent(publicId);
  }

  public void invalidate(String publicId) {
    generation.incrementAndGet();
    keys.invalidate(publicId);
    misses.invalidate(publicId);
  }

  public void invalidateAll() {
    generation.incrementAndGet();
    keys.invalidateAll();
    misses.invalidateAll();
  }

  /** Known keys cached (approximate, as Caffeine counts). */
  public long cachedKeys() {
    return keys.estimatedSize();
  }

  /** Unknown ids remembered (approximate). */
  public long cachedMisses() {
    return misses.estimatedSize();
  }

  /** Lookups sent to PostgreSQL since start. */
  public long queries() {
    return queries.get();
  }

  private static ApiKey toKey(Row r) {
    OffsetDateTime expires = r.getOffsetDateTime("expires_at");
    String[] models = r.getArrayOfStrings("allowed_models");
    Instant expiresAt = expires == null ? null : expires.toInstant();
    Set<String> allowed = models == null ? null : Set.copyOf(Arrays.asList(models));
    Integer orgConcurrency = r.getInteger("o_concurrency");
    Integer keyConcurrency = r.getInteger("k_concurrency");
    // Concurrency is enforced per key: the org's (plan's) value is every key's default, and a key may only narrow it.
    // (Integer) keeps the conditional boxed: unboxing a null (unlimited) value would throw.
    Integer concurrency = keyConcurrency == null ? orgConcurrency
        : orgConcurrency == null ? keyConcurrency : (Integer) Math.min(keyConcurrency, orgConcurrency);
    return new ApiKey(r.getLong("id"), r.getString("public_id"), r.getString("secret_hash"), r.getLong("org_id"),
        r.getString("org_name"), r.getString("status"), expiresAt, allowed,
        limits(r, "o_", null), limits(r, "k_", concurrency), r.getBoolean("suspended"),
        r.getBoolean("playground"));
  }

  private static Limits limits(Row r, String prefix, Integer concurrency) {
    return new Limits(r.getLong(prefix + "rpm"), r.getLong(prefix + "rph"), r.getLong(prefix + "rpd"),
        r.getLong(prefix + "tpm"), r.getLong(prefix + "tph"), r.getLong(prefix + "tpd"), concurrency);
  }
}
