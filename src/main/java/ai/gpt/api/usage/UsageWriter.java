package ai.gpt.api.usage;

import static ai.gpt.api.usage.ContextFutures.onContext;
import static ai.gpt.api.usage.UsageStreams.SHARDS;

import ai.gpt.api.limits.RedisScript;
import ai.gpt.api.tracing.Tracing;
import ai.gpt.api.usage.UsageStreamReader.Parsed;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves usage events from the Redis usage streams ({@link UsageStreams}) into PostgreSQL: a {@code usage} row
 * and a ledger debit per request (none for a request that cost nothing), exactly once.
 *
 * <p>Several writers (one per gateway replica, each with its own stable consumer name) share the streams
 * through the consumer group {@value UsageStreams#GROUP}. Everything runs on this verticle's event loop and
 * never blocks it: a reader polls the 16 streams (XREADGROUP COUNT {@code batchSize} without BLOCK, a plain
 * non-blocking poll on the shared client) into a small bounded queue of batches of at most {@code batchSize}
 * events; up to {@code writeConcurrency} batches are written at a time, each as ONE multi-row statement (one
 * transaction); each batch's entries are XACKed and XDELed only after its commit, and deleted from their
 * organizations' outboxes (see {@link ChunkAcknowledger}). The reader polls again at
 * once while it gets full batches and otherwise after {@code flushIntervalMs}: batches flush by size or by
 * time. Undeploying stops reading and drains what was already read.
 *
 * <p>Nothing is held only in memory: an entry is pending in Redis until its batch committed. After a failure
 * (PostgreSQL or Redis down, timeout) the writer backs off (doubling up to {@code maxBackoffMs}), then reads
 * its own pending entries again (ID 0) before new ones, exactly as at start. Entries left pending by a dead
 * writer are taken over with XAUTOCLAIM once idle for {@code claimIdleMs}. A replayed or re-delivered event
 * writes nothing: the statement inserts its request id into {@code usage_requests} ON CONFLICT DO NOTHING and
 * writes the usage row, and adds the cost to the organization's ledger debit of the day, only for a newly
 * inserted id (see {@link UsageSql#INSERT_BATCH}). Entries that can never be
 * stored (malformed, unknown organization) go to {@code usage_rejects} instead of blocking the stream.
 *
 * <p>The events this process settles are handed to it in memory ({@link #offer}, {@link HandoffInbox}) and written
 * with the next read's entries; those it refuses reach the streams as copies of their outbox entries, made by the
 * gateway. A handed-off event is in no stream, only in its outbox: if this process dies before writing it,
 * {@link OutboxSweep} and {@link OutboxRecovery} copy it from there to the streams.
 *
 * <p>This class runs the loop; {@link UsageStreamReader} reads, {@link ChunkQueue} batches, {@link ChunkStore}
 * writes, {@link ChunkAcknowledger} acknowledges, and {@link StaleEntryClaimer}, {@link StreamTrimmer} and
 * {@link QueueProbe} do the periodic housekeeping, all over one {@link WriterConnection} (the outbox sweep's SCANs
 * go to each master: {@link RedisMasters}).
 */
public final class UsageWriter extends VerticleBase implements UsageHandoff {
  private static final Logger LOG = LoggerFactory.getLogger(UsageWriter.class);
  private static final long PARTITION_INTERVAL_MS = 12 * 3_600_000L;
  private static final long OUTBOX_TICK_MS = 1_000;
  /** Handed-off events held in memory and not committed, at most this many batches ({@link HandoffInbox}). */
  static final int INBOX_BATCHES = 4;

  private final Pool pool;
  private final Redis redis;
  private final RedisMasters masters;
  private final String consumer;
  private final UsageWriterSettings settings;
  private final UsageWriterMetrics metrics;
  private final Tracing tracing;
  private final WriterIncidents incidents;
  private final ChunkQueue queue;
  /** Events handed off by this process's settlements ({@link #offer}), until a read takes them. */
  private final HandoffInbox inbox;
  /** Chunks being written (this verticle's context only): their handed-off events still count as waiting. */
  private final Set<Chunk> storing = new HashSet<>();

  // Created in start(): they need this verticle's context, directly or through the connection.
  private WriterConnection connection;
  private UsageStreamReader reader;
  private ChunkStore store;
  private ChunkAcknowledger acknowledger;
  private StaleEntryClaimer claimer;
  private StreamTrimmer trimmer;

  // Loop state: touched only on this verticle's context.
  private final List<Long> timers = new ArrayList<>();
  private int inFlight;
  private int acking;
  private boolean reading;
  private boolean failing;
  private long readTimer = -1;
  private long retryTimer = -1;
  private boolean stopping;
  private Promise<Void> drained;
  /** Set by {@link #flush}: read again at once, and complete it after a read that found nothing new. */
  private Promise<Void> flushed;
  private boolean lastReadEmpty;

  /** @param masters every master of {@code redis}'s deployment, for the outbox sweep */
  public UsageWriter(Pool pool, Redis redis, RedisMasters masters, String consumer, UsageWriterSettings settings,
      UsageWriterMetrics metrics, Tracing tracing) {
    if (consumer == null || consumer.isBlank()) {
      throw new IllegalArgumentException("consumer name is required");
    }
    this.pool = pool;
    this.redis = redis;
    this.masters = masters;
    this.consumer = consumer;
    this.settings = settings;
    this.metrics = metrics;
    this.tracing = tracing;
    this.incidents = new WriterIncidents(consumer, settings.maxBackoffMs());
    this.queue = new ChunkQueue(settings.batchSize());
    // A whole batch waiting is read at once rather than at the next flush interval.
    this.inbox = new HandoffInbox(INBOX_BATCHES * settings.batchSize(), settings.batchSize(), metrics,
        () -> context.runOnContext(v -> readSoon()));
  }

  /** On a standalone Redis, with meters in a private registry. */
  public UsageWriter(Pool pool, Redis redis, String consumer, UsageWriterSettings settings) {
    this(pool, redis, RedisMasters.standalone(redis), consumer, settings,
        new UsageWriterMetrics(new SimpleMeterRegistry(), consumer), Tracing.OFF);
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
    connection = new WriterConnection(redis, context, settings.writeTimeoutMs());
    reader = new UsageStreamReader(connection, consumer, settings.batchSize());
    store = new ChunkStore(pool, context, settings, metrics, tracing);
    claimer = new StaleEntryClaimer(connection, reader, consumer, settings);
    trimmer = new StreamTrimmer(connection);
    QueueProbe probe = new QueueProbe(connection, metrics, this::handedOffWaiting);
    OutboxSweep sweep = new OutboxSweep(context, connection, consumer, masters,
        new OutboxRecovery(connection, settings.outboxGraceMs(), metrics), settings.outboxSweepIntervalMs(),
        settings.writeTimeoutMs(), metrics);
    timers.add(vertx.setPeriodic(settings.claimIntervalMs(), id -> housekeeping()));
    timers.add(vertx.setPeriodic(settings.probeIntervalMs(), id -> probe.probe()));
    timers.add(vertx.setPeriodic(PARTITION_INTERVAL_MS, id -> store.ensurePartitions()));
    timers.add(vertx.setPeriodic(OUTBOX_TICK_MS, id -> sweep.tick()));
    // Read, not SCRIPT LOADed: the writer starts while Redis is down too (its first call caches it).
    return RedisScript.read(vertx, redis, ChunkAcknowledger.OUTBOX_SCRIPT)
        .compose(script -> {
          acknowledger = new ChunkAcknowledger(connection, script, trimmer, metrics);
          return reader.ensureGroups().recover(e -> {
            noteFailure(e);
            return Future.succeededFuture();
          });
        })
        .compose(v -> store.ensurePartitions())
        .onComplete(ar -> {
          // Not once stop() has begun: what it took from the inbox was the last it writes.
          inbox.open(!stopping);
          read();
        });
  }

  /**
   * Takes a settled event to write with the next read (called on any thread). Refused while starting or stopping,
   * or when {@value #INBOX_BATCHES} batches of handed-off events are held uncommitted already.
   */
  @Override
  public boolean offer(UsageRecord record, Map<String, String> fields, String outboxId) {
    return inbox.offer(record, fields, outboxId);
  }

  private void readSoon() {
    if (readTimer >= 0) {
      vertx.cancelTimer(readTimer);
      readTimer = -1;
      read();
    }
  }

  /** The handed-off events not stored yet (inbox, queue, being written), for the queue probe; on the context. */
  private QueueProbe.InMemory handedOffWaiting() {
    ChunkQueue.HandedOffCount waiting = new ChunkQueue.HandedOffCount();
    inbox.countWaiting(waiting);
    queue.countHandedOff(waiting);
    storing.forEach(waiting::add);
    return new QueueProbe.InMemory(waiting.events, waiting.oldestTsMs);
  }

  /**
   * For a graceful shutdown: reads and writes without pausing until a read finds no event waiting for this
   * consumer, then completes (the writer keeps running; undeploy it next). Fails at once while PostgreSQL or
   * Redis fails: the events stay in Redis for another writer or the next start.
   */
  public Future<Void> flush() {
    Promise<Void> promise = Promise.promise();
    context.runOnContext(v -> {
      if (flushed != null) {
        flushed.future().onComplete(promise);
        return;
      }
      flushed = promise;
      lastReadEmpty = false;
      if (readTimer >= 0) {
        vertx.cancelTimer(readTimer);
        readTimer = -1;
      }
      read();
      settle();
    });
    return promise.future();
  }

  /**
   * Stops reading and completes once the events already read are written and acknowledged (or, while
   * PostgreSQL fails, at once: they stay pending in Redis for the next start or another writer).
   */
  @Override
  public Future<?> stop() {
    stopping = true;
    inbox.open(false);
    // What was handed off is written with the rest (an offer racing with this is left to the outbox sweep).
    queue.add(inbox.take());
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
      connection.close();
      masters.close();
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
        || queue.events() >= 2 * settings.batchSize() * settings.writeConcurrency()) {
      return;
    }
    reading = true;
    // Only a read begun after flush() was called proves nothing is left: an older one may predate the last events.
    boolean forFlush = flushed != null;
    Future<Void> ready = reader.groupsReady() ? Future.succeededFuture() : reader.ensureGroups();
    onContext(context, ready.compose(v -> reader.read())).onComplete(ar -> {
      reading = false;
      if (ar.failed()) {
        fail(ar.cause());
        return;
      }
      if (failing) {
        settle();
        return;
      }
      incidents.recovered("Redis");
      List<Parsed> entries = inbox.take();
      entries.addAll(ar.result());
      lastReadEmpty = forFlush && entries.isEmpty();
      queue.add(entries);
      pump();
      if (stopping || lastReadEmpty && flushed != null) {
        settle();
      } else if (entries.size() >= settings.batchSize() || flushed != null) {
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
      inFlight++;
      storing.add(chunk);
      store.store(chunk).onComplete(stored -> {
        inFlight--;
        storing.remove(chunk);
        if (stored.failed()) {
          inbox.putBack(ChunkQueue.handedOff(chunk));
          fail(stored.cause());
          return;
        }
        inbox.committed(ChunkQueue.handedOff(chunk).size());
        if (!failing) {
          incidents.recovered("PostgreSQL");
        }
        // Committed: acknowledge in the background while this lane takes the next chunk.
        acking++;
        acknowledger.acknowledge(chunk).onComplete(acked -> {
          acking--;
          if (acked.failed()) {
            fail(acked.cause());
            return;
          }
          if (!failing) {
            incidents.recovered(null);
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
    if (StepFailure.message(e).startsWith("NOGROUP")) {
      reader.groupsLost();
    }
    if (flushed != null) {
      flushed.tryFail(e);
    }
    if (!failing) {
      failing = true;
      noteFailure(e);
    } else {
      LOG.debug("Usage writer {}: further failure during the same incident: {}", consumer, e.toString());
    }
    inbox.putBack(queue.clear());
    reader.replayAllPending();
    if (readTimer >= 0) {
      vertx.cancelTimer(readTimer);
      readTimer = -1;
    }
    settle();
  }

  /** Once nothing is reading or writing: restart after a failure, or finish stopping. */
  private void settle() {
    if (reading || inFlight > 0 || acking > 0) {
      return;
    }
    if (flushed != null && lastReadEmpty && queue.isEmpty()) {
      flushed.tryComplete();
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

  /** Takes over entries idle on dead consumers, then trims entries acknowledged but not deleted. */
  private void housekeeping() {
    if (stopping || !reader.groupsReady()) {
      return;
    }
    for (int s = 0; s < SHARDS; s++) {
      int shard = s;
      claimer.claim(shard).compose(v -> trimmer.trim(shard)).onFailure(e ->
          LOG.debug("Usage stream housekeeping on {} failed: {}", UsageStreams.key(shard), e.toString()));
    }
  }

  private void noteFailure(Throwable e) {
    metrics.failure();
    incidents.failed(e instanceof StepFailure sf ? sf.system : "PostgreSQL or Redis", StepFailure.cause(e));
  }
}
