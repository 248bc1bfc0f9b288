package ai.gpt.api.usage;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retention of the {@code usage} table (USAGE_RETENTION_MONTHS): the monthly partitions older than the current
 * UTC month and the {@code months} before it are detached and dropped, at start and every 12 hours, together with
 * their request ids in {@code usage_requests} (the exactly-once guard, no longer needed for requests that old) and
 * the rows of those months that fell into {@code usage_default}. 0 keeps everything. The ledger is not touched:
 * the usage debits are one row per organization and day, and a balance never needs the usage rows.
 *
 * <p>A partition is detached in one short transaction and dropped in another, each with a lock timeout, so a
 * long report holding the table delays retention instead of every insert queueing behind the DETACH's lock
 * (DETACH … CONCURRENTLY is refused on a table with a default partition). A table left detached by a crash
 * in between is found by its name and dropped on the next run. Replicas do not run it twice at once: each step
 * first takes a transaction-level advisory lock, and a replica that does not get it leaves the run to the other.
 */
public final class UsageRetention extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(UsageRetention.class);
  static final long INTERVAL_MS = 12 * 3_600_000L;

  /** Monthly partitions (attached or left detached) whose month is before the first one kept. */
  private static final String EXPIRED = """
      SELECT c.relname, c.relispartition FROM pg_class c
       WHERE c.relkind = 'r' AND c.relname ~ '^usage_y[0-9]{4}m[0-9]{2}$'
         AND c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'usage'::regclass)
         AND to_date(substr(c.relname, 8), 'YYYY"m"MM') < (date_trunc('month', now() AT TIME ZONE 'UTC')
                                                            - make_interval(months => $1))::date
       ORDER BY c.relname""";
  private static final String LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('usage_retention'))";
  private static final String LOCK_TIMEOUT = "SET LOCAL lock_timeout = '2s'";
  private static final String EXPIRED_DEFAULT_ROWS = """
      WITH gone AS (
        DELETE FROM usage_default
         WHERE created_at < (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => $1))
                            AT TIME ZONE 'UTC'
        RETURNING request_id)
      DELETE FROM usage_requests r USING gone WHERE r.request_id = gone.request_id""";

  private final Pool pool;
  private final int months;
  private long timer = -1;

  /** @param months months kept before the current one; 0 keeps every month (the verticle then does nothing) */
  public UsageRetention(Pool pool, int months) {
    if (months < 0) {
      throw new IllegalArgumentException("months must not be negative");
    }
    this.pool = pool;
    this.months = months;
  }

  @Override
  public Future<?> start() {
    if (months > 0) {
      timer = vertx.setPeriodic(1_000, INTERVAL_MS, id -> run());
    }
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    return Future.succeededFuture();
  }

  /** One pass; returns the number of monthly partitions dropped. Never fails: a failure is logged. */
  public Future<Integer> run() {
    if (months == 0) {
      return Future.succeededFuture(0);
    }
    return pool.preparedQuery(EXPIRED).execute(Tuple.of(months)).compose(rows -> {
      List<Row> expired = new ArrayList<>();
      rows.forEach(expired::add);
      return dropAll(expired, 0, 0);
    }).compose(dropped -> locked(tx -> tx.preparedQuery(EXPIRED_DEFAULT_ROWS).execute(Tuple.of(months)).mapEmpty())
        .map(dropped))
        .onSuccess(dropped -> {
          if (dropped > 0) {
            LOG.info("Usage retention ({} months): dropped {} monthly partition(s)", months, dropped);
          }
        })
        .recover(e -> {
          LOG.warn("Usage retention could not drop old months (retried in 12 h): {}", e.toString());
          return Future.succeededFuture(0);
        });
  }

  private Future<Integer> dropAll(List<Row> expired, int i, int dropped) {
    if (i == expired.size()) {
      return Future.succeededFuture(dropped);
    }
    String table = '"' + expired.get(i).getString("relname") + '"'; // matched ^usage_y\d{4}m\d{2}$ above
    Future<Void> detached = expired.get(i).getBoolean("relispartition")
        ? locked(tx -> tx.query("ALTER TABLE usage DETACH PARTITION " + table).execute().mapEmpty())
        : Future.succeededFuture();
    return detached
        .compose(v -> locked(tx -> tx.query("DELETE FROM usage_requests r USING " + table
                + " u WHERE r.request_id = u.request_id").execute()
            .compose(r -> tx.query("DROP TABLE IF EXISTS " + table).execute()).mapEmpty()))
        .compose(v -> dropAll(expired, i + 1, dropped + 1));
  }

  /** Runs {@code step} in a transaction holding the retention lock; fails if another replica holds it. */
  private Future<Void> locked(Function<SqlConnection, Future<Void>> step) {
    return pool.withTransaction(tx -> tx.query(LOCK).execute().compose(rows -> {
      if (!rows.iterator().next().getBoolean(0)) {
        return Future.failedFuture(new IllegalStateException("another replica is applying the usage retention"));
      }
      return tx.query(LOCK_TIMEOUT).execute().compose(v -> step.apply(tx));
    }));
  }
}
