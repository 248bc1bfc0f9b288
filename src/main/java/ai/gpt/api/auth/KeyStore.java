package ai.gpt.api.auth;

import ai.gpt.api.limits.Limits;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Key lookups by public id, cached in memory so the hot path does not touch PostgreSQL. Entries are
 * dropped on a revocation message (see {@link KeyInvalidations}) and expire after a while anyway, so a
 * lost message cannot keep a revoked key alive for long. Unknown ids are cached briefly too, so a flood
 * of made-up keys does not become a flood of queries.
 */
public final class KeyStore {
  static final long TTL_NANOS = 60_000_000_000L;
  static final long MISS_TTL_NANOS = 5_000_000_000L;
  private static final String SELECT = """
      SELECT k.id, k.public_id, k.secret_hash, k.org_id, o.name AS org_name, k.status, k.expires_at, k.allowed_models,
             COALESCE(o.rpm, p.rpm) AS o_rpm, COALESCE(o.rph, p.rph) AS o_rph, COALESCE(o.rpd, p.rpd) AS o_rpd,
             COALESCE(o.tpm, p.tpm) AS o_tpm, COALESCE(o.tph, p.tph) AS o_tph, COALESCE(o.tpd, p.tpd) AS o_tpd,
             COALESCE(o.concurrency, p.concurrency) AS o_concurrency,
             k.rpm AS k_rpm, k.rph AS k_rph, k.rpd AS k_rpd, k.tpm AS k_tpm, k.tph AS k_tph, k.tpd AS k_tpd,
             k.concurrency AS k_concurrency
        FROM api_keys k JOIN organizations o ON o.id = k.org_id JOIN plans p ON p.id = o.plan_id
       WHERE k.public_id = $1""";

  private record Entry(Optional<ApiKey> key, long loadedAt) {}

  private final Pool pool;
  private final ConcurrentHashMap<String, Entry> cache = new ConcurrentHashMap<>();

  public KeyStore(Pool pool) {
    this.pool = pool;
  }

  public Future<Optional<ApiKey>> find(String publicId) {
    Entry e = cache.get(publicId);
    long now = System.nanoTime();
    if (e != null && now - e.loadedAt < (e.key.isPresent() ? TTL_NANOS : MISS_TTL_NANOS)) {
      return Future.succeededFuture(e.key);
    }
    return pool.preparedQuery(SELECT).execute(Tuple.of(publicId)).map(rows -> {
      Optional<ApiKey> key = rows.size() == 0 ? Optional.empty() : Optional.of(toKey(rows.iterator().next()));
      cache.put(publicId, new Entry(key, System.nanoTime()));
      return key;
    });
  }

  public void invalidate(String publicId) {
    cache.remove(publicId);
  }

  public void invalidateAll() {
    cache.clear();
  }

  private static ApiKey toKey(Row r) {
    OffsetDateTime expires = r.getOffsetDateTime("expires_at");
    String[] models = r.getArrayOfStrings("allowed_models");
    Instant expiresAt = expires == null ? null : expires.toInstant();
    Set<String> allowed = models == null ? null : Set.copyOf(Arrays.asList(models));
    Integer orgConcurrency = r.getInteger("o_concurrency");
    Integer keyConcurrency = r.getInteger("k_concurrency");
    // Concurrency is enforced per key: the org's (plan's) value is every key's default, and a key may only narrow it.
    Integer concurrency = keyConcurrency == null ? orgConcurrency
        : orgConcurrency == null ? keyConcurrency : Math.min(keyConcurrency, orgConcurrency);
    return new ApiKey(r.getLong("id"), r.getString("public_id"), r.getString("secret_hash"), r.getLong("org_id"),
        r.getString("org_name"), r.getString("status"), expiresAt, allowed,
        limits(r, "o_", null), limits(r, "k_", concurrency));
  }

  private static Limits limits(Row r, String prefix, Integer concurrency) {
    return new Limits(r.getLong(prefix + "rpm"), r.getLong(prefix + "rph"), r.getLong(prefix + "rpd"),
        r.getLong(prefix + "tpm"), r.getLong(prefix + "tph"), r.getLong(prefix + "tpd"), concurrency);
  }
}
