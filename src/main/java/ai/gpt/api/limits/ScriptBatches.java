package ai.gpt.api.limits;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongFunction;

/**
 * Group commit for a per-request script written with {@code lua/batch.lua} ({@code admit_v6.lua},
 * {@code settle_v8.lua}): requests of one hash slot tag that arrive while that tag's previous call is still in
 * flight wait and then go together as one script call, which pays the call's fixed price (parsing, script setup,
 * reply, a round trip) once. At low load nothing waits: a request whose tag has no call in flight is sent at once,
 * alone. A batch holds at most {@link #MAX_BATCH} requests; a full one is sent even while another is in flight.
 *
 * <p>Batches never mix tags (one per organization, {@link RedisKeys#tag}), so each runs on the one Redis Cluster
 * master owning its keys. A tag's state exists only while it has requests waiting or a call in flight, so idle
 * organizations cost nothing. Shared by every event loop; each request's reply is delivered on the context that
 * asked for it. A script that takes its organization's keys and arguments once per call (batch.lua's header) gets
 * them from {@code header}, once per batch, before the requests' own.
 */
final class ScriptBatches {
  static final int MAX_BATCH = 64;
  /**
   * A call in flight longer than this stops holding back its tag's next batch, so one call Redis never answers (a
   * hung connection) cannot stop its tag. Its requests keep waiting for their answer: when to give up on a call is
   * the caller's decision (Metering's deadlines), not this class's.
   */
  static final long STUCK_MS = 2_000;

  private final Vertx vertx;
  private final RedisScript script;
  private final int keyCount;
  private final int argCount;
  private final LongFunction<Header> header;
  /** Per organization while it has requests waiting or in flight; guarded by the map's per-key lock. */
  private final ConcurrentHashMap<Long, BatchQueue<Pending>> tags = new ConcurrentHashMap<>();

  /**
   * @param keyCount the keys of one request
   * @param argCount the arguments of one request
   */
  ScriptBatches(Vertx vertx, RedisScript script, int keyCount, int argCount) {
    this(vertx, script, keyCount, argCount, null);
  }

  /**
   * @param header the keys and arguments an organization's batch starts with (by organization id); null for a
   *               script without a header
   */
  ScriptBatches(Vertx vertx, RedisScript script, int keyCount, int argCount, LongFunction<Header> header) {
    this.vertx = vertx;
    this.script = script;
    this.keyCount = keyCount;
    this.argCount = argCount;
    this.header = header;
  }

  /** What every request of an organization's batch shares, sent once before the requests' own keys and arguments. */
  record Header(List<String> keys, List<?> args) {}

  /**
   * Runs the script for one request of organization {@code orgId} (whose tag all {@code keys} carry); completes
   * on the calling context with that request's own reply, or fails with its {@code {"error", message}} reply, or
   * with the batch's failure.
   */
  Future<Response> call(long orgId, List<String> keys, List<?> args) {
    return call(callerContext(), orgId, keys, args);
  }

  /** The context of the caller: where {@link #call} delivers its answer. */
  Context callerContext() {
    return vertx.getOrCreateContext();
  }

  /** {@link #call(long, List, List)}, answering on {@code context}. */
  Future<Response> call(Context context, long orgId, List<String> keys, List<?> args) {
    if (keys.size() != keyCount || args.size() != argCount) {
      throw new IllegalArgumentException(script.name() + " takes " + keyCount + " keys and " + argCount
          + " arguments per request");
    }
    Pending p = new Pending(keys, args, Promise.promise(), context);
    List<List<Pending>> due = new ArrayList<>(1);
    // compute() runs under the map's lock for this org: adding, taking and dropping a tag never race.
    tags.compute(orgId, (org, tag) -> {
      BatchQueue<Pending> t = tag == null ? new BatchQueue<>(MAX_BATCH) : tag;
      t.add(p);
      List<Pending> batch = t.takeIfDue();
      if (batch != null) {
        due.add(batch);
      }
      return t;
    });
    if (!due.isEmpty()) {
      send(orgId, due.get(0));
    }
    return p.promise.future();
  }

  private void send(long orgId, List<Pending> batch) {
    Header h = header == null ? null : header.apply(orgId);
    List<String> keys = new ArrayList<>(batch.size() * keyCount + (h == null ? 0 : h.keys().size()));
    List<Object> args = new ArrayList<>(batch.size() * argCount + (h == null ? 0 : h.args().size()));
    if (h != null) {
      keys.addAll(h.keys());
      args.addAll(h.args());
    }
    for (Pending p : batch) {
      keys.addAll(p.keys);
      args.addAll(p.args);
    }
    AtomicBoolean holding = new AtomicBoolean(true);
    long stuck = vertx.setTimer(STUCK_MS, id -> release(orgId, holding));
    script.call(keys, args).onComplete(ar -> {
      vertx.cancelTimer(stuck);
      release(orgId, holding);
      for (int i = 0; i < batch.size(); i++) {
        Pending p = batch.get(i);
        if (ar.failed()) {
          p.deliver(Future.failedFuture(ar.cause()));
        } else if (ar.result().size() != batch.size()) {
          p.deliver(Future.failedFuture(new ScriptError(script.name() + " answered " + ar.result().size()
              + " replies to " + batch.size() + " requests")));
        } else {
          Response reply = ar.result().get(i);
          // A reply is a table (its first element "error" for a request's own error) or a string (settle_v8).
          p.deliver(reply.type() == ResponseType.MULTI && "error".equals(reply.get(0).toString())
              ? Future.failedFuture(new ScriptError(reply.get(1).toString()))
              : Future.succeededFuture(reply));
        }
      }
    });
  }

  /** Once per call (answered, or stuck): the tag may send its next batch. */
  private void release(long orgId, AtomicBoolean holding) {
    if (!holding.compareAndSet(true, false)) {
      return;
    }
    List<List<Pending>> due = new ArrayList<>(1);
    tags.computeIfPresent(orgId, (org, t) -> {
      t.released();
      List<Pending> next = t.takeIfDue();
      if (next != null) {
        due.add(next);
      }
      return t.idle() ? null : t;
    });
    if (!due.isEmpty()) {
      send(orgId, due.get(0));
    }
  }

  private record Pending(List<String> keys, List<?> args, Promise<Response> promise, Context context) {
    /** Completes on the asking context, as a Redis call made there would. */
    void deliver(Future<Response> outcome) {
      if (Vertx.currentContext() == context) {
        promise.handle(outcome);
      } else {
        context.runOnContext(v -> promise.handle(outcome));
      }
    }
  }

  /** A request's own script error ({@code redis.error_reply}, or a command that failed): only that request failed. */
  static final class ScriptError extends RuntimeException {
    ScriptError(String message) {
      super(message, null, false, false);
    }
  }
}
