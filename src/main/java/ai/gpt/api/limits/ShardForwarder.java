package ai.gpt.api.limits;

import ai.gpt.api.usage.UsageStreams;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies each settled usage event from its organization's outbox to its shard's usage stream (XADD with the
 * event's fields plus {@link UsageStreams#OUTBOX_ID}), where the usage writers consume it. Nobody waits for the copy:
 * the outbox entry, written atomically with the charge, is the durable one. A copy Redis refused (it was down, or a
 * connection was cut) is sent again by this process every {@value #RETRY_MS} ms, up to {@value #MAX_RETRYING}
 * events at a time, so a live gateway's events arrive as soon as Redis answers; beyond that, and for the copies of
 * a killed process, the writer's outbox recovery copies them (minutes later). A copy made twice is written once
 * (PostgreSQL deduplicates by request id).
 *
 * <p>Copies of one shard that arrive while that shard's previous call is in flight wait for it and then go together,
 * pipelined on one connection (as {@link ScriptBatches} does for scripts), so a busy shard costs one pooled
 * connection, not one per event.
 */
final class ShardForwarder {
  private static final Logger LOG = LoggerFactory.getLogger(ShardForwarder.class);
  static final int MAX_BATCH = 256;
  private static final long LOG_INTERVAL_MS = 60_000;
  private static final long IDLE_POLL_MS = 10;
  static final long RETRY_MS = 1_000;
  static final int MAX_RETRYING = 100_000;

  private final Vertx vertx;
  private final Redis redis;
  private final Shard[] shards = new Shard[UsageStreams.SHARDS];
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong lastLog = new AtomicLong();
  /** Events whose copy failed and waits for its next attempt. */
  private final AtomicLong retrying = new AtomicLong();

  ShardForwarder(Vertx vertx, Redis redis) {
    this.vertx = vertx;
    this.redis = redis;
    for (int s = 0; s < shards.length; s++) {
      shards[s] = new Shard(UsageStreams.key(s), new BatchQueue<>(MAX_BATCH));
    }
  }

  /**
   * @param fields   the event's fields as in the outbox ({@link UsageStreams#fields})
   * @param outboxId the event's entry id in the organization's outbox
   */
  void forward(long orgId, Map<String, String> fields, String outboxId) {
    Shard shard = shards[UsageStreams.shardOf(orgId)];
    Request xadd = UsageStreams.copy(shard.key(), fields, outboxId);
    List<Request> batch;
    synchronized (shard) {
      shard.queue().add(xadd);
      batch = shard.queue().takeIfDue();
    }
    if (batch != null) {
      send(shard, batch);
    }
  }

  /**
   * Completes once no copy is waiting, in flight or waiting to be sent again (answered, or given up on as stuck): a
   * graceful stop waits for it (bounded) before the usage writer's last flush, so the events of the last requests
   * are written by this replica.
   */
  Future<Void> idle() {
    Promise<Void> done = Promise.promise();
    whenIdle(done);
    return done.future();
  }

  private void whenIdle(Promise<Void> done) {
    if (retrying.get() > 0) {
      vertx.setTimer(IDLE_POLL_MS, id -> whenIdle(done));
      return;
    }
    for (Shard shard : shards) {
      synchronized (shard) {
        if (!shard.queue().idle()) {
          vertx.setTimer(IDLE_POLL_MS, id -> whenIdle(done));
          return;
        }
      }
    }
    done.complete();
  }

  private void send(Shard shard, List<Request> batch) {
    AtomicBoolean holding = new AtomicBoolean(true);
    // A call Redis never answers must not stop the shard: its copies are in the outboxes either way.
    long stuck = vertx.setTimer(ScriptBatches.STUCK_MS, id -> release(shard, holding));
    Future<?> sent = batch.size() == 1 ? redis.send(batch.get(0)) : redis.batch(batch);
    sent.onComplete(ar -> {
      vertx.cancelTimer(stuck);
      if (ar.failed()) {
        noteFailure(shard, batch.size(), ar.cause());
        retryLater(shard, batch);
      }
      release(shard, holding);
    });
  }

  private void release(Shard shard, AtomicBoolean holding) {
    if (!holding.compareAndSet(true, false)) {
      return;
    }
    List<Request> next;
    synchronized (shard) {
      shard.queue().released();
      next = shard.queue().takeIfDue();
    }
    if (next != null) {
      send(shard, next);
    }
  }

  /** Sends a failed batch again after {@value #RETRY_MS} ms, unless too many already wait (the outboxes keep them). */
  private void retryLater(Shard shard, List<Request> batch) {
    if (retrying.addAndGet(batch.size()) > MAX_RETRYING) {
      retrying.addAndGet(-batch.size());
      return;
    }
    vertx.setTimer(RETRY_MS, id -> {
      List<Request> next;
      synchronized (shard) {
        batch.forEach(shard.queue()::add);
        next = shard.queue().takeIfDue();
      }
      retrying.addAndGet(-batch.size());
      if (next != null) {
        send(shard, next);
      }
    });
  }

  private void noteFailure(Shard shard, int events, Throwable cause) {
    long total = failed.addAndGet(events);
    long now = System.currentTimeMillis();
    long last = lastLog.get();
    if (now - last >= LOG_INTERVAL_MS && lastLog.compareAndSet(last, now)) {
      LOG.warn("Could not copy {} usage event(s) to {} ({} since start): they wait in their organizations' outboxes "
          + "and are sent again: {}", events, shard.key(), total, cause.toString());
    }
  }

  /** One shard stream and its copies waiting or in flight (guarded by itself). */
  private record Shard(String key, BatchQueue<Request> queue) {}
}
