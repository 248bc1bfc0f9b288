package ai.gpt.api.limits;

import ai.gpt.api.usage.UsageStreams;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Response;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Group commit for a per-request script written with {@code lua/batch.lua} ({@code admit_v4.lua},
 * {@code settle_v3.lua}): requests of one hash slot tag that arrive while that tag's previous call is still in
 * flight wait and then go together as one script call, which pays the call's fixed price (parsing, script setup,
 * reply, a round trip) once. At low load nothing waits: a request whose tag has no call in flight is sent at once,
 * alone. A batch holds at most {@link #MAX_BATCH} requests; a full one is sent even while another is in flight.
 *
 * <p>Batches never mix tags ({@code {s<orgId % 16>}}), so each runs on the one Redis Cluster master owning its
 * keys. Shared by every event loop; each request's reply is delivered on the context that asked for it.
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
  private final Tag[] tags = new Tag[UsageStreams.SHARDS];

  /**
   * @param keyCount the keys of one request
   * @param argCount the arguments of one request
   */
  ScriptBatches(Vertx vertx, RedisScript script, int keyCount, int argCount) {
    this.vertx = vertx;
    this.script = script;
    this.keyCount = keyCount;
    this.argCount = argCount;
    for (int i = 0; i < tags.length; i++) {
      tags[i] = new Tag();
    }
  }

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
    Tag tag = tags[RedisKeys.shard(orgId)];
    List<Pending> batch;
    synchronized (tag) {
      tag.waiting.add(p);
      batch = tag.takeIfDue();
    }
    if (batch != null) {
      send(tag, batch);
    }
    return p.promise.future();
  }

  private void send(Tag tag, List<Pending> batch) {
    List<String> keys = new ArrayList<>(batch.size() * keyCount);
    List<Object> args = new ArrayList<>(batch.size() * argCount);
    for (Pending p : batch) {
      keys.addAll(p.keys);
      args.addAll(p.args);
    }
    AtomicBoolean holding = new AtomicBoolean(true);
    long stuck = vertx.setTimer(STUCK_MS, id -> release(tag, holding));
    script.call(keys, args).onComplete(ar -> {
      vertx.cancelTimer(stuck);
      release(tag, holding);
      for (int i = 0; i < batch.size(); i++) {
        Pending p = batch.get(i);
        if (ar.failed()) {
          p.deliver(Future.failedFuture(ar.cause()));
        } else if (ar.result().size() != batch.size()) {
          p.deliver(Future.failedFuture(new ScriptError(script.name() + " answered " + ar.result().size()
              + " replies to " + batch.size() + " requests")));
        } else {
          Response reply = ar.result().get(i);
          p.deliver("error".equals(reply.get(0).toString())
              ? Future.failedFuture(new ScriptError(reply.get(1).toString()))
              : Future.succeededFuture(reply));
        }
      }
    });
  }

  /** Once per call (answered, or stuck): the tag may send its next batch. */
  private void release(Tag tag, AtomicBoolean holding) {
    if (!holding.compareAndSet(true, false)) {
      return;
    }
    List<Pending> next;
    synchronized (tag) {
      tag.inFlight--;
      next = tag.takeIfDue();
    }
    if (next != null) {
      send(tag, next);
    }
  }

  /** The requests of one tag waiting to be sent, and how many of its calls are in flight. */
  private static final class Tag {
    final ArrayDeque<Pending> waiting = new ArrayDeque<>();
    int inFlight;

    /** The next batch if it is due (nothing in flight, or a full batch waiting), counted as in flight; else null. */
    List<Pending> takeIfDue() {
      if (waiting.isEmpty() || (inFlight > 0 && waiting.size() < MAX_BATCH)) {
        return null;
      }
      List<Pending> batch = new ArrayList<>(Math.min(waiting.size(), MAX_BATCH));
      while (!waiting.isEmpty() && batch.size() < MAX_BATCH) {
        batch.add(waiting.poll());
      }
      inFlight++;
      return batch;
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
