package ai.gpt.api.usage;

import ai.gpt.api.limits.RedisKeys;
import static ai.gpt.api.usage.ContextFutures.onContext;

import ai.gpt.api.usage.Chunk.Item;
import ai.gpt.api.usage.Chunk.Reject;
import ai.gpt.api.usage.StreamReplies.Entry;
import ai.gpt.api.tracing.Tracing;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes chunks into PostgreSQL, each as ONE multi-row statement (one transaction), and keeps the usage table's
 * monthly partitions created ahead of the rows.
 */
final class ChunkStore {
  // Under the writer's name, like all its log lines, so one logger setting covers the writer.
  private static final Logger LOG = LoggerFactory.getLogger(UsageWriter.class);
  private static final AttributeKey<Long> EVENTS = AttributeKey.longKey("gptapi.usage.events");
  private static final AttributeKey<Long> ROWS = AttributeKey.longKey("gptapi.usage.rows_written");

  private final Pool pool;
  private final Context context;
  private final UsageWriterSettings settings;
  private final UsageWriterMetrics metrics;
  private final Tracing tracing;

  ChunkStore(Pool pool, Context context, UsageWriterSettings settings, UsageWriterMetrics metrics, Tracing tracing) {
    this.pool = pool;
    this.context = context;
    this.settings = settings;
    this.metrics = metrics;
    this.tracing = tracing;
  }

  /** One transaction for the chunk's events, then its rejects (if any). */
  Future<Void> store(Chunk chunk) {
    Future<Void> stored = chunk.items.isEmpty() ? Future.succeededFuture() : insert(chunk, chunk.items, true);
    return stored.compose(v -> chunk.rejects.isEmpty() ? Future.succeededFuture() : insertRejects(chunk.rejects));
  }

  /** Never fails: until the partitions exist, rows go to usage_default. */
  Future<Void> ensurePartitions() {
    return onContext(context,
        pool.preparedQuery(UsageSql.ENSURE_PARTITIONS).execute(Tuple.of(settings.partitionMonthsAhead())))
        .<Void>map(rows -> {
          int created = rows.iterator().next().getInteger(0);
          if (created > 0) {
            LOG.info("Created {} monthly partition(s) of the usage table", created);
          }
          return null;
        })
        .recover(e -> {
          LOG.warn("Could not create the usage table's monthly partitions (rows go to usage_default meanwhile): {}",
              e.toString());
          return Future.succeededFuture();
        });
  }

  private Future<Void> insert(Chunk chunk, List<Item> items, boolean batch) {
    long t0 = System.nanoTime();
    Span span = tracing.backgroundSpan("usage.write");
    span.setAttribute(EVENTS, (long) items.size());
    Future<Void> written = sql(pool.preparedQuery(UsageSql.INSERT_BATCH)
        .execute(UsageSql.batchArgs(items.stream().map(item -> item.record).toList()))
        .timeout(settings.writeTimeoutMs(), TimeUnit.MILLISECONDS))
        .<Void>map(rows -> {
          metrics.batchWritten(items.size(), rows.rowCount(), System.nanoTime() - t0);
          span.setAttribute(ROWS, (long) rows.rowCount());
          return null;
        })
        .onComplete(ar -> {
          if (ar.failed()) {
            span.setStatus(StatusCode.ERROR, ar.cause().toString());
          }
          span.end();
        });
    return written.recover(e -> {
      if (!isUnstorable(e)) {
        return Future.failedFuture(e);
      }
      if (!batch) {
        for (Entry entry : items.get(0).entries) {
          chunk.rejects.add(new Reject(entry, e.getCause().getMessage()));
        }
        return Future.succeededFuture();
      }
      // Some event in the batch violates a constraint: store the others one by one and set the bad ones aside.
      Future<Void> f = Future.succeededFuture();
      for (Item item : items) {
        f = f.compose(v -> insert(chunk, List.of(item), false));
      }
      return f;
    });
  }

  private Future<Void> insertRejects(List<Reject> rejects) {
    int n = rejects.size();
    String[] streams = new String[n];
    String[] ids = new String[n];
    String[] fields = new String[n];
    String[] errors = new String[n];
    for (int i = 0; i < n; i++) {
      Reject r = rejects.get(i);
      // A handed-off event is in no stream: it is named by its outbox entry.
      streams[i] = r.entry().inStream() ? UsageStreams.key(r.entry().shard())
          : RedisKeys.outbox(Long.parseLong(r.entry().fields().get(UsageStreams.ORG_ID)));
      ids[i] = r.entry().inStream() ? r.entry().id() : r.entry().fields().get(UsageStreams.OUTBOX_ID);
      fields[i] = new JsonObject(new TreeMap<String, Object>(r.entry().fields())).encode().replace("\\u0000", "");
      errors[i] = r.error() == null ? "unknown error" : r.error();
      LOG.warn("Usage entry {} {} cannot be stored and was moved to usage_rejects: {}", streams[i], ids[i], errors[i]);
    }
    return sql(pool.preparedQuery(UsageSql.INSERT_REJECTS).execute(Tuple.of(streams, ids, fields, errors)))
        .map(rows -> {
          metrics.rejected(n);
          return null;
        });
  }

  /** Data and constraint errors (SQLSTATE classes 22 and 23) will fail on every retry; anything else may pass. */
  private static boolean isUnstorable(Throwable e) {
    if (StepFailure.cause(e) instanceof PgException pg && pg.getSqlState() != null) {
      return pg.getSqlState().startsWith("22") || pg.getSqlState().startsWith("23");
    }
    return false;
  }

  private <T> Future<T> sql(Future<T> query) {
    return onContext(context, query).recover(e -> Future.failedFuture(new StepFailure("PostgreSQL", e)));
  }
}
