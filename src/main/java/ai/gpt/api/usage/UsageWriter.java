package ai.gpt.api.usage;

import static ai.gpt.api.usage.UsageStreams.GROUP;
import static ai.gpt.api.usage.UsageStreams.SHARDS;

import ai.gpt.api.usage.StreamReplies.Entry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves usage events from the Redis usage streams ({@link UsageStreams}) into PostgreSQL: a {@code usage} row
 * and a ledger debit per request, exactly once.
 *
 * <p>Several writers (one per gateway replica, each with its own stable consumer name) share the streams
 * through the consumer group {@value UsageStreams#GROUP}. Everything runs on this verticle's event loop and
 * never blocks it: a reader polls the 16 streams (XREADGROUP COUNT {@code batchSize} without BLOCK, a plain
 * non-blocking poll on the shared client) into a small bounded queue of batches of at most {@code batchSize}
 * events; up to {@code writeConcurrency} batches are written at a time, each as ONE multi-row statement (one
 * transaction); each batch's entries are XACKed and XDELed only after its commit. The reader polls again at
 * once while it gets full batches and otherwise after {@code flushIntervalMs}: batches flush by size or by
 * time. Undeploying stops reading and drains what was already read.
 *
 * <p>Nothing is held only in memory: an entry is pending in Redis until its batch committed. After a failure
 * (PostgreSQL or Redis down, timeout) the writer backs off (doubling up to {@code maxBackoffMs}), then reads
 * its own pending entries again (ID 0) before new ones, exactly as at start. Entries left pending by a dead
 * writer are taken over with XAUTOCLAIM once idle for {@code claimIdleMs}. A replayed or re-delivered event
 * writes nothing: the statement inserts the debit ON CONFLICT DO NOTHING on its idempotency key
 * {@code usage:<request_id>} and the usage row only with a newly inserted debit. Entries that can never be
 * stored (malformed, unknown organization) go to {@code usage_rejects} instead of blocking the stream.
 */
public final class UsageWriter extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(UsageWriter.class);
  private static final long PARTITION_INTERVAL_MS = 12 * 3_600_000L;
  /** Storable events by request id, then the entries that are only rejected or acknowledged. */
  private static final Comparator<Parsed> PARSED_ORDER = Comparator.comparing(
      (Parsed p) -> p.record == null ? null : p.record.requestId(), Comparator.nullsLast(Comparator.naturalOrder()));

  private final Pool pool;
  private final Redis redis;
  private final String consumer;
  private final UsageWriterSettings settings;
  private final UsageWriterMetrics metrics;
  private final String[] keys = new String[SHARDS];

  // Loop state: touched only on this verticle's context.
  private final boolean[] ownPending = new boolean[SHARDS];
  private final int[] pendingEpoch = new int[SHARDS];
  private final List<Long> timers = new ArrayList<>();
  private final String[] cursor = new String[SHARDS];
  private final Deque<Chunk> queue = new ArrayDeque<>();
  private int queuedEvents;
  private int inFlight;
  private int acking;
  private boolean reading;
  private boolean failing;
  private long readTimer = -1;
  private long retryTimer = -1;
  private RedisConnection connection;
  private Future<RedisConnection> connecting;
  private boolean groupsReady;
  private boolean stopping;
  private Promise<Void> drained;
  private final WriterIncidents incidents;

  public UsageWriter(Pool pool, Redis redis, String consumer, UsageWriterSettings settings,
      UsageWriterMetrics metrics) {
    if (consumer == null || consumer.isBlank()) {
      throw new IllegalArgumentException("consumer name is required");
    }
    this.pool = pool;
    this.redis = redis;
    this.consumer = consumer;
    this.settings = settings;
    this.metrics = metrics;
    this.incidents = new WriterIncidents(consumer, settings.maxBackoffMs());
    for (int s = 0; s < SHARDS; s++) {
      keys[s] = UsageStreams.key(s);
    }
  }

  /** With meters in a private registry. */
  public UsageWriter(Pool pool, Redis redis, String consumer, UsageWriterSettings settings) {
    this(pool, redis, consumer, settings, new UsageWriterMetrics(new SimpleMeterRegistry(), consumer));
  }

  /** With {@link UsageWriterSettings#defaults()}. */
  public UsageWriter(Pool pool, Redis redis, String consumer) {
    this(pool, redis, consumer, UsageWriterSettings.defaults());
  }

  public UsageWriterMetrics metrics() {
    return metrics;
  }

  public String consumer() {
    return consumer;
  }

  /**
   * Creates the consumer groups and this month's partitions, then starts the loop. Succeeds even when Redis
   * or PostgreSQL is unreachable: the loop keeps retrying and events wait in Redis meanwhile.
   */
  @Override
  public Future<?> start() {
    Arrays.fill(ownPending, true);
    Arrays.fill(cursor, "0");
    timers.add(vertx.setPeriodic(settings.claimIntervalMs(), id -> housekeeping()));
    timers.add(vertx.setPeriodic(settings.probeIntervalMs(), id -> probe()));
    timers.add(vertx.setPeriodic(PARTITION_INTERVAL_MS, id -> ensurePartitions()));
    return ensureGroups()
        .recover(e -> {
          noteFailure(e);
          return Future.succeededFuture();
        })
        .compose(v -> ensurePartitions())
        .onComplete(ar -> read());
  }

  /**
   * Stops reading and completes once the events already read are written and acknowledged (or, while
   * PostgreSQL fails, at once: they stay pending in Redis for the next start or another writer).
   */
  @Override
  public Future<?> stop() {
    stopping = true;
    timers.forEach(vertx::cancelTimer);
    for (long timer : new long[] {readTimer, retryTimer}) {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
      }
    }
    readTimer = -1;
    retryTimer = -1;
    drained = Promise.promise();
    pump();
    settle();
    return drained.future().andThen(ar -> {
      RedisConnection c = connection;
      connection = null;
      if (c != null) {
        c.close();
      }
    });
  }

  // ---- the loop -------------------------------------------------------------------------------------------
  //
  // A reader fills a small queue of chunks (each at most batchSize events, one transaction) and up to
  // writeConcurrency lanes write them, so reading the next events overlaps with writing the current ones.
  // The reader reads again once fewer than 2 * writeConcurrency * batchSize events are queued: at once when its
  // last read was a full batch, else after flushIntervalMs. On any failure everything in memory is dropped
  // (it is still pending in Redis), in-flight work is allowed to settle, and after the back-off the reader
  // starts over from this consumer's pending entries.

  private void read() {
    if (stopping || failing || reading || readTimer >= 0
        || queuedEvents >= 2 * settings.batchSize() * settings.writeConcurrency()) {
      return;
    }
    reading = true;
    Future<Void> ready = groupsReady ? Future.succeededFuture() : ensureGroups();
    onContext(ready.compose(v -> readAll())).onComplete(ar -> {
      reading = false;
      if (ar.failed()) {
        fail(ar.cause());
        return;
      }
      if (failing) {
        settle();
        return;
      }
      recovered("Redis");
      List<Parsed> entries = ar.result();
      enqueue(entries);
      pump();
      if (stopping) {
        settle();
      } else if (entries.size() >= settings.batchSize()) {
        read();
      } else {
        readTimer = vertx.setTimer(settings.flushIntervalMs(), id -> {
          readTimer = -1;
          read();
        });
      }
    });
  }

  private void pump() {
    while (!failing && inFlight < settings.writeConcurrency() && !queue.isEmpty()) {
      Chunk chunk = queue.poll();
      queuedEvents -= chunk.items.size();
      inFlight++;
      store(chunk).onComplete(stored -> {
        inFlight--;
        if (stored.failed()) {
          fail(stored.cause());
          return;
        }
        if (!failing) {
          recovered("PostgreSQL");
        }
        // Committed: acknowledge in the background while this lane takes the next chunk.
        acking++;
        acknowledge(chunk).onComplete(acked -> {
          acking--;
          if (acked.failed()) {
            fail(acked.cause());
            return;
          }
          if (!failing) {
            recovered(null);
          }
          settle();
          read();
        });
        pump();
        settle();
        read();
      });
    }
  }

  /** Drops everything held in memory (it is pending in Redis) and retries from the pending entries later. */
  private void fail(Throwable e) {
    if (message(e).startsWith("NOGROUP")) {
      groupsReady = false; // the streams were lost (Redis restarted empty): recreate the groups first
    }
    if (!failing) {
      failing = true;
      noteFailure(e);
    } else {
      LOG.debug("Usage writer {}: further failure during the same incident: {}", consumer, e.toString());
    }
    queue.clear();
    queuedEvents = 0;
    for (int s = 0; s < SHARDS; s++) {
      resetToPending(s);
    }
    if (readTimer >= 0) {
      vertx.cancelTimer(readTimer);
      readTimer = -1;
    }
    settle();
  }

  /** The next read of shard {@code s} starts with this consumer's pending entries, from the first. */
  private void resetToPending(int s) {
    ownPending[s] = true;
    cursor[s] = "0";
    pendingEpoch[s]++;
  }

  /** Once nothing is reading or writing: restart after a failure, or finish stopping. */
  private void settle() {
    if (reading || inFlight > 0 || acking > 0) {
      return;
    }
    if (stopping && (queue.isEmpty() || failing)) {
      if (drained != null) {
        drained.tryComplete();
      }
      return;
    }
    if (failing && retryTimer < 0) {
      retryTimer = vertx.setTimer(incidents.backoffMs(), id -> {
        retryTimer = -1;
        failing = false;
        read();
      });
    }
  }

  private Future<List<Parsed>> readAll() {
    List<Future<ShardRead>> reads = new ArrayList<>(SHARDS);
    for (int s = 0; s < SHARDS; s++) {
      reads.add(readShard(s));
    }
    return Future.all(reads).map(all -> {
      List<Parsed> entries = new ArrayList<>();
      for (Future<ShardRead> f : reads) {
        entries.addAll(f.result().parsed);
      }
      return entries;
    });
  }

  /**
   * This consumer's own pending entries first (after start, a failure or a take-over), paging through them
   * with a cursor so entries still queued or being written are not read twice; then new entries.
   */
  private Future<ShardRead> readShard(int s) {
    if (!ownPending[s]) {
      return read(s, ">");
    }
    int epoch = pendingEpoch[s];
    return read(s, cursor[s]).compose(got -> {
      if (pendingEpoch[s] != epoch) {
        return Future.succeededFuture(got); // reset meanwhile (failure or take-over): start over from 0
      }
      if (got.lastId != null) {
        cursor[s] = got.lastId;
        return Future.succeededFuture(got);
      }
      ownPending[s] = false;
      cursor[s] = "0";
      return read(s, ">");
    });
  }

  private Future<ShardRead> read(int s, String from) {
    Request r = Request.cmd(Command.XREADGROUP).arg("GROUP").arg(GROUP).arg(consumer)
        .arg("COUNT").arg(settings.batchSize()).arg("STREAMS").arg(keys[s]).arg(from);
    return send(r).map(reply -> parse(StreamReplies.readGroup(reply, s, keys[s])));
  }

  /**
   * Parses one shard's entries as they arrive (so no callback handles more than one read of one shard) and
   * sorts them by request id: with shards concatenated in order, every batch is sorted by (shard, request id),
   * so concurrent transactions take their unique-index locks in the same order and cannot deadlock on a
   * replayed event, and each batch covers few shards, so acknowledging it takes few Redis round trips.
   */
  private static ShardRead parse(List<Entry> entries) {
    if (entries.isEmpty()) {
      return new ShardRead(List.of(), null);
    }
    List<Parsed> parsed = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      if (e.fields() == null) {
        parsed.add(new Parsed(e, null, null)); // deleted while pending: only the pending mark to clear
        continue;
      }
      try {
        parsed.add(new Parsed(e, UsageRecord.parse(e.fields(), e.idMillis()), null));
      } catch (IllegalArgumentException ex) {
        parsed.add(new Parsed(e, null, ex.getMessage()));
      }
    }
    parsed.sort(PARSED_ORDER);
    return new ShardRead(parsed, entries.get(entries.size() - 1).id());
  }

  /**
   * Turns one read into chunks of at most batchSize distinct request ids, in read order. An event delivered
   * twice is stored once and both entries are acknowledged with its chunk.
   */
  private void enqueue(List<Parsed> entries) {
    if (entries.isEmpty()) {
      return;
    }
    Map<String, Item> seen = new HashMap<>();
    List<Item> items = new ArrayList<>(entries.size());
    Chunk extra = new Chunk(List.of());
    for (Parsed p : entries) {
      if (p.record == null) {
        if (p.error == null) {
          extra.acks.add(p.entry);
        } else {
          extra.rejects.add(new Reject(p.entry, p.error));
        }
        continue;
      }
      Item item = seen.get(p.record.requestId());
      if (item == null) {
        item = new Item(p.record, p.entry);
        seen.put(p.record.requestId(), item);
        items.add(item);
      } else {
        item.entries.add(p.entry);
      }
    }
    for (int i = 0; i < items.size(); i += settings.batchSize()) {
      Chunk chunk = new Chunk(items.subList(i, Math.min(items.size(), i + settings.batchSize())));
      queue.add(chunk);
      queuedEvents += chunk.items.size();
    }
    if (!extra.acks.isEmpty() || !extra.rejects.isEmpty()) {
      queue.add(extra);
    }
  }

  /** One transaction for the chunk's events, then its rejects (if any). */
  private Future<Void> store(Chunk chunk) {
    Future<Void> stored = chunk.items.isEmpty() ? Future.succeededFuture() : insert(chunk, chunk.items, true);
    return stored.compose(v -> chunk.rejects.isEmpty() ? Future.succeededFuture() : insertRejects(chunk.rejects));
  }

  /** XACK + XDEL of every entry a stored chunk covers. */
  private Future<Void> acknowledge(Chunk chunk) {
    List<Entry> done = new ArrayList<>(chunk.acks);
    int repeated = 0;
    for (Item item : chunk.items) {
      done.addAll(item.entries);
      repeated += item.entries.size() - 1;
    }
    for (Reject reject : chunk.rejects) {
      done.add(reject.entry);
    }
    metrics.duplicates(repeated);
    return ack(done);
  }

  private Future<Void> insert(Chunk chunk, List<Item> items, boolean batch) {
    long t0 = System.nanoTime();
    Future<Void> written = sql(pool.preparedQuery(UsageSql.INSERT_BATCH).execute(UsageSql.batchArgs(items.stream().map(item -> item.record).toList()))
        .timeout(settings.writeTimeoutMs(), TimeUnit.MILLISECONDS))
        .map(rows -> {
          metrics.batchWritten(items.size(), rows.rowCount(), System.nanoTime() - t0);
          return null;
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
      streams[i] = keys[r.entry.shard()];
      ids[i] = r.entry.id();
      fields[i] = new JsonObject(new TreeMap<String, Object>(r.entry.fields())).encode().replace("\\u0000", "");
      errors[i] = r.error == null ? "unknown error" : r.error;
      LOG.warn("Usage entry {} {} cannot be stored and was moved to usage_rejects: {}", streams[i], ids[i], errors[i]);
    }
    return sql(pool.preparedQuery(UsageSql.INSERT_REJECTS).execute(Tuple.of(streams, ids, fields, errors)))
        .map(rows -> {
          metrics.rejected(n);
          return null;
        });
  }

  private Future<Void> ack(List<Entry> entries) {
    Map<Integer, List<String>> byShard = new TreeMap<>();
    for (Entry e : entries) {
      byShard.computeIfAbsent(e.shard(), s -> new ArrayList<>()).add(e.id());
    }
    List<Future<?>> acks = new ArrayList<>(byShard.size());
    byShard.forEach((shard, ids) -> {
      Request xack = Request.cmd(Command.XACK).arg(keys[shard]).arg(GROUP);
      Request xdel = Request.cmd(Command.XDEL).arg(keys[shard]);
      for (String id : ids) {
        xack.arg(id);
        xdel.arg(id);
      }
      acks.add(batch(List.of(xack, xdel)));
    });
    return Future.all(acks).mapEmpty();
  }

  /** Data and constraint errors (SQLSTATE classes 22 and 23) will fail on every retry; anything else may pass. */
  private static boolean isUnstorable(Throwable e) {
    Throwable cause = e instanceof StepFailure ? e.getCause() : e;
    if (cause instanceof PgException pg && pg.getSqlState() != null) {
      return pg.getSqlState().startsWith("22") || pg.getSqlState().startsWith("23");
    }
    return false;
  }

  // ---- setup and housekeeping ----------------------------------------------------------------------------

  /**
   * XGROUP CREATE … 0 MKSTREAM on every shard. The group starts at 0, not $, so events the gateway queued
   * before any writer ever ran are written too (processed entries are deleted, so 0 replays nothing).
   */
  private Future<Void> ensureGroups() {
    List<Future<?>> creates = new ArrayList<>(SHARDS);
    for (int s = 0; s < SHARDS; s++) {
      Request r = Request.cmd(Command.XGROUP).arg("CREATE").arg(keys[s]).arg(GROUP).arg("0").arg("MKSTREAM");
      creates.add(send(r).recover(e -> message(e).startsWith("BUSYGROUP")
          ? Future.succeededFuture() : Future.failedFuture(e)));
    }
    return onContext(Future.all(creates)).map(v -> {
      groupsReady = true;
      return null;
    });
  }

  private Future<Void> ensurePartitions() {
    return onContext(pool.preparedQuery(UsageSql.ENSURE_PARTITIONS).execute(Tuple.of(settings.partitionMonthsAhead())))
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

  /** Takes over entries idle on dead consumers, then trims entries acknowledged but not deleted. */
  private void housekeeping() {
    if (stopping || !groupsReady) {
      return;
    }
    for (int s = 0; s < SHARDS; s++) {
      int shard = s;
      claim(shard, "0-0", 0).compose(v -> trim(shard)).onFailure(e ->
          LOG.debug("Usage stream housekeeping on {} failed: {}", keys[shard], e.toString()));
    }
  }

  private Future<Void> claim(int s, String cursor, int round) {
    Request r = Request.cmd(Command.XAUTOCLAIM).arg(keys[s]).arg(GROUP).arg(consumer).arg(settings.claimIdleMs())
        .arg(cursor).arg("COUNT").arg(settings.batchSize()).arg("JUSTID");
    return send(r).compose(reply -> {
      String next = reply.get(0).toString();
      int claimed = reply.get(1) == null ? 0 : reply.get(1).size();
      if (claimed > 0) {
        resetToPending(s);
        LOG.info("Usage writer {} took over {} entries of {} idle for over {} ms", consumer, claimed, keys[s],
            settings.claimIdleMs());
      }
      return "0-0".equals(next) || round >= 100 ? Future.<Void>succeededFuture() : claim(s, next, round + 1);
    });
  }

  /**
   * XTRIM MINID below which every entry is delivered and acknowledged: the smallest pending id, or, with
   * nothing pending, just after the group's last delivered id (read first, so nothing delivered in between is
   * ever below it). Normally XDEL already removed them; this catches an XDEL lost to a dropped connection.
   */
  private Future<Void> trim(int s) {
    return batch(List.of(Request.cmd(Command.XINFO).arg("GROUPS").arg(keys[s]),
        Request.cmd(Command.XPENDING).arg(keys[s]).arg(GROUP))).compose(replies -> {
          String lastDelivered = null;
          for (Response group : replies.get(0)) {
            Response name = StreamReplies.field(group, "name");
            if (name != null && GROUP.equals(name.toString())) {
              lastDelivered = StreamReplies.field(group, "last-delivered-id").toString();
            }
          }
          Response pending = replies.get(1);
          String minId;
          if (pending.get(0).toLong() > 0) {
            minId = pending.get(1).toString();
          } else if (lastDelivered != null && !"0-0".equals(lastDelivered)) {
            int dash = lastDelivered.indexOf('-');
            minId = lastDelivered.substring(0, dash + 1) + (Long.parseLong(lastDelivered.substring(dash + 1)) + 1);
          } else {
            return Future.succeededFuture();
          }
          return send(Request.cmd(Command.XTRIM).arg(keys[s]).arg("MINID").arg(minId)).mapEmpty();
        });
  }

  /** Queue length (XLEN summed) and writer lag (now minus the oldest waiting event's ts_ms) for the metrics. */
  private void probe() {
    List<Future<List<Response>>> probes = new ArrayList<>(SHARDS);
    for (int s = 0; s < SHARDS; s++) {
      probes.add(batch(List.of(Request.cmd(Command.XLEN).arg(keys[s]),
          Request.cmd(Command.XRANGE).arg(keys[s]).arg("-").arg("+").arg("COUNT").arg(1))));
    }
    Future.all(probes).onSuccess(v -> {
      long length = 0;
      long oldest = Long.MAX_VALUE;
      for (int s = 0; s < SHARDS; s++) {
        List<Response> r = probes.get(s).result();
        length += r.get(0).toLong();
        for (Entry e : StreamReplies.entries(r.get(1), s)) {
          long ts = e.idMillis();
          if (e.fields() != null) {
            try {
              ts = Long.parseLong(e.fields().getOrDefault(UsageStreams.TS_MS, Long.toString(ts)));
            } catch (NumberFormatException ignored) {
              // malformed entry: keep the entry id's time
            }
          }
          oldest = Math.min(oldest, ts);
        }
      }
      metrics.queue(length, oldest == Long.MAX_VALUE ? 0 : System.currentTimeMillis() - oldest);
    });
  }

  // ---- failures -------------------------------------------------------------------------------------------

  private void noteFailure(Throwable e) {
    metrics.failure();
    incidents.failed(e instanceof StepFailure sf ? sf.system : "PostgreSQL or Redis",
        e instanceof StepFailure ? e.getCause() : e);
  }

  /** Ends the incident if {@code system} (null: any) is the one that failed. */
  private void recovered(String system) {
    incidents.recovered(system);
  }

  private static String message(Throwable e) {
    Throwable cause = e instanceof StepFailure && e.getCause() != null ? e.getCause() : e;
    return cause.getMessage() == null ? "" : cause.getMessage();
  }

  // ---- plumbing -------------------------------------------------------------------------------------------

  private Future<Response> send(Request request) {
    return redisCall(c -> c.send(request));
  }

  /** Commands on one key (one Redis Cluster slot), pipelined. */
  private Future<List<Response>> batch(List<Request> requests) {
    return redisCall(c -> c.batch(requests));
  }

  /**
   * Runs a command on the writer's own connection, so its polling never competes with the gateway's request
   * traffic for pooled connections and all its commands are pipelined. A command that times out (hung
   * connection) drops the connection; the next command reconnects.
   */
  private <T> Future<T> redisCall(Function<RedisConnection, Future<T>> call) {
    return onContext(connection().compose(c -> call.apply(c)
            .timeout(settings.writeTimeoutMs(), TimeUnit.MILLISECONDS)
            .onFailure(e -> {
              if (e instanceof TimeoutException) {
                drop(c);
              }
            })))
        .recover(e -> Future.failedFuture(new StepFailure("Redis", e)));
  }

  private Future<RedisConnection> connection() {
    if (connection != null) {
      return Future.succeededFuture(connection);
    }
    if (connecting == null) {
      connecting = onContext(redis.connect()).onComplete(ar -> {
        connecting = null;
        if (ar.succeeded()) {
          RedisConnection c = ar.result();
          if (stopping && drained != null && drained.future().isComplete()) {
            c.close();
            return;
          }
          connection = c;
          c.exceptionHandler(e -> drop(c));
          c.endHandler(v -> drop(c));
        }
      });
    }
    return connecting;
  }

  private void drop(RedisConnection c) {
    context.runOnContext(v -> {
      if (connection == c) {
        connection = null;
        c.close();
      }
    });
  }

  private <T> Future<T> sql(Future<T> query) {
    return onContext(query).recover(e -> Future.failedFuture(new StepFailure("PostgreSQL", e)));
  }

  /** Completes on this verticle's context, whatever thread completed {@code f}. */
  private <T> Future<T> onContext(Future<T> f) {
    Promise<T> p = Promise.promise();
    f.onComplete(ar -> {
      if (Vertx.currentContext() == context) {
        p.handle(ar);
      } else {
        context.runOnContext(v -> p.handle(ar));
      }
    });
    return p.future();
  }

  /** A failed step, naming the system that failed for the once-per-incident log line. */
  private static final class StepFailure extends RuntimeException {
    final String system;

    StepFailure(String system, Throwable cause) {
      super(system + ": " + cause.getMessage(), cause, false, false);
      this.system = system;
    }
  }

  /** One event (unique request id) and every stream entry that carried it. */
  private static final class Item {
    final UsageRecord record;
    final List<Entry> entries = new ArrayList<>(1);

    Item(UsageRecord record, Entry first) {
      this.record = record;
      entries.add(first);
    }
  }

  private record Reject(Entry entry, String error) {}

  /** A stream entry with its record, or why it cannot be stored (record and error null: deleted entry). */
  private record Parsed(Entry entry, UsageRecord record, String error) {}

  /** One shard's read, parsed; lastId is the greatest entry id read (null when nothing was read). */
  private record ShardRead(List<Parsed> parsed, String lastId) {}

  /** At most batchSize events written in one transaction, plus entries that are only rejected or acknowledged. */
  private static final class Chunk {
    final List<Item> items;
    final List<Reject> rejects = new ArrayList<>();
    final List<Entry> acks = new ArrayList<>();

    Chunk(List<Item> items) {
      this.items = items;
    }
  }
}
