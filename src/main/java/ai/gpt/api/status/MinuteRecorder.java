package ai.gpt.api.status;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Records samples into {@code status_minutes}, one row per (component, minute) for the whole cluster: each
 * replica's flush is one upsert that keeps the worst level any replica saw and ADDS its request and error counts
 * (each replica sends only what it counted since its previous successful flush). While PostgreSQL is unreachable
 * the observations wait here, merged per minute (at most {@link #MAX_PENDING} rows, the oldest dropped first), and
 * are written when it answers again, so an outage of the database is not a gap in the history.
 */
final class MinuteRecorder {
  static final int MAX_PENDING = 20_000;
  private static final String UPSERT = "INSERT INTO status_minutes (component, minute, level, requests, errors)"
      + " SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::bigint[], $5::bigint[])"
      + " ON CONFLICT (component, minute) DO UPDATE SET level = GREATEST(status_minutes.level, EXCLUDED.level),"
      + " requests = status_minutes.requests + EXCLUDED.requests, errors = status_minutes.errors + EXCLUDED.errors";
  private static final String PRUNE = "DELETE FROM status_minutes WHERE minute < now() - make_interval(days => $1)";
  private static final long PRUNE_EVERY_MS = 3_600_000;

  private record Key(String component, Instant minute) {}

  private static final class Row {
    int level;
    long requests;
    long errors;
  }

  private final Pool pool;
  private final int retentionDays;
  private final Map<Key, Row> pending = new LinkedHashMap<>();
  private long lastPruneMs;
  private boolean flushing;

  MinuteRecorder(Pool pool, int retentionDays) {
    this.pool = pool;
    this.retentionDays = retentionDays;
  }

  /** Adds a sample to the pending rows and writes them; the caller calls this from one context only. */
  Future<Void> record(LiveSample sample) {
    Instant minute = sample.at().truncatedTo(ChronoUnit.MINUTES);
    sample.components().forEach((component, seen) -> {
      Row row = pending.computeIfAbsent(new Key(component, minute), k -> new Row());
      row.level = Math.max(row.level, seen.health().code());
      row.requests += seen.requests();
      row.errors += seen.errors();
    });
    while (pending.size() > MAX_PENDING) {
      pending.remove(pending.keySet().iterator().next());
    }
    return flush().compose(v -> prune());
  }

  private Future<Void> flush() {
    if (flushing || pending.isEmpty()) {
      return Future.succeededFuture();
    }
    // Sorted, so every replica locks the rows of overlapping batches in the same order: never a deadlock.
    Map<Key, Row> batch = new TreeMap<>(Comparator.comparing(Key::component).thenComparing(Key::minute));
    batch.putAll(pending);
    pending.clear();
    List<String> components = new ArrayList<>();
    List<OffsetDateTime> minutes = new ArrayList<>();
    List<Short> levels = new ArrayList<>();
    List<Long> requests = new ArrayList<>();
    List<Long> errors = new ArrayList<>();
    batch.forEach((k, r) -> {
      components.add(k.component());
      minutes.add(k.minute().atOffset(ZoneOffset.UTC));
      levels.add((short) r.level);
      requests.add(r.requests);
      errors.add(r.errors);
    });
    flushing = true;
    return pool.preparedQuery(UPSERT)
        .execute(Tuple.of(components.toArray(String[]::new), minutes.toArray(OffsetDateTime[]::new),
            levels.toArray(Short[]::new), requests.toArray(Long[]::new), errors.toArray(Long[]::new)))
        .<Void>mapEmpty()
        .onComplete(ar -> flushing = false)
        .onFailure(err -> batch.forEach((k, r) -> {
          // Merge back: counts added by samples taken meanwhile must not be lost either.
          Row now = pending.computeIfAbsent(k, x -> new Row());
          now.level = Math.max(now.level, r.level);
          now.requests += r.requests;
          now.errors += r.errors;
        }));
  }

  /** Deletes rows past the retention; every replica may do it, the statement is idempotent. */
  private Future<Void> prune() {
    long now = System.currentTimeMillis();
    if (now - lastPruneMs < PRUNE_EVERY_MS) {
      return Future.succeededFuture();
    }
    lastPruneMs = now;
    return pool.preparedQuery(PRUNE).execute(Tuple.of(retentionDays)).mapEmpty();
  }
}
