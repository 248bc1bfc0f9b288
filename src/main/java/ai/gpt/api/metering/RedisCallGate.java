package ai.gpt.api.metering;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Bounds the metering calls this gateway has in flight on Redis, so a burst is admitted at the rate Redis answers
 * instead of piling every call into the Redis client's wait queue: there a call's timeout ran while it only waited
 * behind thousands of others, the queue overflowed at 4,096, and both looked like a Redis outage.
 *
 * <p>Beyond {@code maxInFlight} calls, settlements wait without limit and go first (they end responses and free
 * holds; each one belongs to a request already admitted), admissions wait in a FIFO of at most {@code maxQueued}
 * for at most {@code maxWaitMs}; an admission refused here fails with {@link #OVERLOADED}, which is this gateway's
 * own overload, never Redis's. A call's Redis timeout starts only when it is sent. The critical sections are a few
 * field updates; a queued call runs on the context that queued it.
 */
final class RedisCallGate {
  /** The admission was not sent: this gateway's admission queue was full, or it waited too long in it. */
  static final RuntimeException OVERLOADED = new RuntimeException("metering admission queue full", null, false,
      false) { };

  private final int maxInFlight;
  private final int maxQueued;
  private final long maxWaitNanos;
  private final ArrayDeque<Waiter<?>> settlements = new ArrayDeque<>();
  private final ArrayDeque<Waiter<?>> admissions = new ArrayDeque<>();
  private int inFlight;

  private record Waiter<T>(Supplier<Future<T>> call, Promise<T> promise, Context context, long queuedNanos) {}

  RedisCallGate(int maxInFlight, int maxQueued, long maxWaitMs) {
    this.maxInFlight = maxInFlight;
    this.maxQueued = maxQueued;
    this.maxWaitNanos = maxWaitMs * 1_000_000;
  }

  /** Runs an admission call now, or once a slot is free; fails with {@link #OVERLOADED} if it cannot wait. */
  <T> Future<T> admission(Supplier<Future<T>> call) {
    synchronized (this) {
      if (inFlight < maxInFlight && settlements.isEmpty() && admissions.isEmpty()) {
        inFlight++;
      } else if (admissions.size() >= maxQueued) {
        return Future.failedFuture(OVERLOADED);
      } else {
        return enqueue(admissions, call);
      }
    }
    return run(call);
  }

  /** Runs a settlement call now, or once a slot is free (before any waiting admission); never refused. */
  <T> Future<T> settlement(Supplier<Future<T>> call) {
    synchronized (this) {
      if (inFlight < maxInFlight && settlements.isEmpty()) {
        inFlight++;
      } else {
        return enqueue(settlements, call);
      }
    }
    return run(call);
  }

  /** Whether a call would be sent at once. */
  synchronized boolean hasRoom() {
    return inFlight < maxInFlight && settlements.isEmpty() && admissions.isEmpty();
  }

  /** Calls waiting for a slot (admissions and settlements). */
  synchronized int queued() {
    return admissions.size() + settlements.size();
  }

  /** Refuses the admissions that have waited longer than allowed; called periodically, so none waits forever. */
  void expire() {
    List<Waiter<?>> expired = null;
    long now = System.nanoTime();
    synchronized (this) {
      Waiter<?> head;
      while ((head = admissions.peek()) != null && now - head.queuedNanos > maxWaitNanos) {
        admissions.poll();
        if (expired == null) {
          expired = new ArrayList<>();
        }
        expired.add(head);
      }
    }
    if (expired != null) {
      expired.forEach(RedisCallGate::refuse);
    }
  }

  private <T> Future<T> enqueue(ArrayDeque<Waiter<?>> queue, Supplier<Future<T>> call) {
    Waiter<T> waiter = new Waiter<>(call, Promise.promise(), Vertx.currentContext(), System.nanoTime());
    queue.add(waiter);
    return waiter.promise.future();
  }

  private <T> Future<T> run(Supplier<Future<T>> call) {
    Future<T> sent;
    try {
      sent = call.get();
    } catch (RuntimeException e) {
      sent = Future.failedFuture(e);
    }
    return sent.onComplete(done -> release());
  }

  /** A call ended: its slot passes to the next waiter (settlements first), or is freed. */
  private void release() {
    Waiter<?> next;
    List<Waiter<?>> expired = null;
    long now = System.nanoTime();
    synchronized (this) {
      next = settlements.poll();
      while (next == null && (next = admissions.poll()) != null && now - next.queuedNanos > maxWaitNanos) {
        if (expired == null) {
          expired = new ArrayList<>();
        }
        expired.add(next);
        next = null;
      }
      if (next == null) {
        inFlight--;
      }
    }
    if (expired != null) {
      expired.forEach(RedisCallGate::refuse);
    }
    if (next != null) {
      dispatch(next);
    }
  }

  /** Always a new task, even on the same context: a chain of calls failing at once must not recurse. */
  private <T> void dispatch(Waiter<T> w) {
    if (w.context == null) {
      run(w.call).onComplete(w.promise);
    } else {
      w.context.runOnContext(v -> run(w.call).onComplete(w.promise));
    }
  }

  private static void refuse(Waiter<?> w) {
    if (w.context == null) {
      w.promise.tryFail(OVERLOADED);
    } else {
      w.context.runOnContext(v -> w.promise.tryFail(OVERLOADED));
    }
  }
}
