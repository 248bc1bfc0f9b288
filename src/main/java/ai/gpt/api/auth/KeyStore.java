package ai.gpt.api.auth;

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
      SELECT k.id, k.public_id, k.secret_hash, k.org_id, o.name AS org_name, k.status, k.expires_at, k.allowed_models
        FROM api_keys k JOIN organizations o ON o.id = k.org_id
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
    return new ApiKey(r.getLong("id"), r.getString("public_id"), r.getString("secret_hash"), r.getLong("org_id"),
        r.getString("org_name"), r.getString("status"), expiresAt, allowed);
  }
}
