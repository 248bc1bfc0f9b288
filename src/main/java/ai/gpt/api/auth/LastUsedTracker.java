package ai.gpt.api.auth;

import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Records which keys were used and writes {@code last_used_at} in one statement every few seconds, so a
 * busy key costs one UPDATE per interval instead of one per request. Only keys that authenticated are recorded,
 * and the set is written early once it holds {@link #MAX_PENDING} ids, so it stays bounded however many keys
 * are in use.
 */
public final class LastUsedTracker {
  static final long FLUSH_MS = 5_000;
  static final int MAX_PENDING = 10_000;
  private static final String UPDATE = "UPDATE api_keys SET last_used_at = now() WHERE id = ANY($1)";

  private final Pool pool;
  private final Set<Long> used = ConcurrentHashMap.newKeySet();
  private final long timerId;
  private final Vertx vertx;

  public LastUsedTracker(Vertx vertx, Pool pool) {
    this.vertx = vertx;
    this.pool = pool;
    this.timerId = vertx.setPeriodic(FLUSH_MS, id -> flush());
  }

  public void touch(long keyId) {
    if (used.add(keyId) && used.size() >= MAX_PENDING) {
      flush();
    }
  }

  /** Key ids waiting for the next write. */
  public int pending() {
    return used.size();
  }

  public void close() {
    vertx.cancelTimer(timerId);
    flush();
  }

  private void flush() {
    if (used.isEmpty()) {
      return;
    }
    Long[] ids = used.toArray(Long[]::new);
    for (Long id : ids) {
      used.remove(id);
    }
    pool.preparedQuery(UPDATE).execute(Tuple.of(ids));
  }
}
