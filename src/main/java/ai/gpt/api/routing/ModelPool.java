package ai.gpt.api.routing;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.metrics.GatewayMetrics;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backends serving one model, and the bounded queue of requests waiting for a free slot.
 *
 * <p>Choice is power-of-two-choices on load = (in-flight from this gateway + slots busy with other
 * replicas' work) / slots: two random candidates with a free slot, the less loaded wins. It spreads load
 * like least-loaded without herding every replica onto the same backend between polls. All state changes
 * happen under this object's lock; the critical sections are a few field reads, so event loops never wait
 * long. Waiters are completed on their own context.
 */
public final class ModelPool {
  private static final Logger LOG = LoggerFactory.getLogger(ModelPool.class);
  private final String model;
  private final Vertx vertx;
  private final RoutingSettings settings;
  private final GatewayMetrics metrics;
  private List<Backend> backends = List.of();
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

  private static final class Waiter {
    final Promise<Backend> promise;
    final Context context;
    final Set<Backend> exclude;
    long timerId;

    Waiter(Promise<Backend> promise, Context context, Set<Backend> exclude) {
      this.promise = promise;
      this.context = context;
      this.exclude = exclude;
    }
  }

  ModelPool(String model, Vertx vertx, RoutingSettings settings, GatewayMetrics metrics) {
    this.model = model;
    this.vertx = vertx;
    this.settings = settings;
    this.metrics = metrics;
  }

  public String model() {
    return model;
  }

  public synchronized List<Backend> backends() {
    return backends;
  }

  synchronized void replaceBackends(List<Backend> next) {
    backends = List.copyOf(next);
    dispatchWaiters();
  }

  /**
   * Reserves a slot on the least-loaded healthy backend, waiting in the queue if all are full.
   * The caller must {@link #release} the backend exactly once when its request ends.
   */
  public Future<Backend> acquire(Set<Backend> exclude) {
    Waiter waiter;
    synchronized (this) {
      if (!anyRoutable(exclude)) {
        return Future.failedFuture(ApiError.noHealthyBackend(model));
      }
      Backend chosen = choose(exclude);
      if (chosen != null) {
        chosen.inFlight++;
        return Future.succeededFuture(chosen);
      }
      if (waiters.size() >= settings.queueSize()) {
        metrics.queueRejected(model);
        return Future.failedFuture(ApiError.overloaded(model));
      }
      Context context = vertx.getOrCreateContext();
      waiter = new Waiter(Promise.promise(), context, exclude);
      waiters.add(waiter);
      metrics.queueDepth(model, waiters.size());
    }
    waiter.timerId = vertx.setTimer(settings.queueTimeoutMs(), id -> timeOut(waiter));
    return waiter.promise.future();
  }

  /**
   * The client of a queued {@link #acquire} left: its waiter leaves the queue now, so its request can settle (and
   * give back its hold and concurrency lease) at once rather than when a slot frees; the future fails. Nothing
   * happens once the waiter got a backend or timed out.
   */
  public void cancel(Future<Backend> acquired) {
    Waiter found = null;
    synchronized (this) {
      for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
        Waiter w = it.next();
        if (w.promise.future() == acquired) {
          it.remove();
          found = w;
          break;
        }
      }
      if (found == null) {
        return;
      }
      metrics.queueDepth(model, waiters.size());
    }
    vertx.cancelTimer(found.timerId);
    found.promise.tryFail(ApiError.overloaded(model));
  }

  public void release(Backend backend) {
    synchronized (this) {
      backend.inFlight--;
      dispatchWaiters();
    }
  }

  /** A request could not reach the backend: stop sending it traffic until the health checker sees it back. */
  public void reportFailure(Backend backend, String reason) {
    synchronized (this) {
      if (backend.health() != Backend.Health.QUARANTINED) {
        LOG.warn("{} quarantined after a failed request: {}", backend, reason);
        metrics.quarantined(model);
      }
      backend.markRequestFailed(System.currentTimeMillis(), settings.healthIntervalMs());
      failWaitersIfNoneRoutable();
    }
  }

  /** The health checker took a backend out of rotation. */
  void countQuarantine() {
    metrics.quarantined(model);
  }

  /** Called after health or load information changed, which may free capacity for waiters. */
  synchronized void capacityChanged() {
    dispatchWaiters();
    failWaitersIfNoneRoutable();
  }

  private void timeOut(Waiter waiter) {
    synchronized (this) {
      if (!waiters.remove(waiter)) {
        return;
      }
      metrics.queueDepth(model, waiters.size());
      metrics.queueRejected(model);
    }
    waiter.promise.tryFail(ApiError.overloaded(model));
  }

  private void dispatchWaiters() {
    Iterator<Waiter> it = waiters.iterator();
    while (it.hasNext()) {
      Waiter w = it.next();
      Backend chosen = choose(w.exclude);
      if (chosen == null) {
        if (anyCapacity()) {
          continue; // this waiter excludes the free backends; a later one may fit
        }
        break;
      }
      it.remove();
      chosen.inFlight++;
      vertx.cancelTimer(w.timerId);
      w.context.runOnContext(v -> {
        if (!w.promise.tryComplete(chosen)) {
          release(chosen);
        }
      });
    }
    metrics.queueDepth(model, waiters.size());
  }

  private void failWaitersIfNoneRoutable() {
    if (waiters.isEmpty()) {
      return;
    }
    List<Waiter> failed = new ArrayList<>();
    waiters.removeIf(w -> !anyRoutable(w.exclude) && failed.add(w));
    for (Waiter w : failed) {
      vertx.cancelTimer(w.timerId);
      w.context.runOnContext(v -> w.promise.tryFail(ApiError.noHealthyBackend(model)));
    }
    metrics.queueDepth(model, waiters.size());
  }

  private boolean anyRoutable(Set<Backend> exclude) {
    for (Backend b : backends) {
      if (b.routable() && !exclude.contains(b)) {
        return true;
      }
    }
    return false;
  }

  private boolean anyCapacity() {
    for (Backend b : backends) {
      if (b.routable() && b.hasCapacity()) {
        return true;
      }
    }
    return false;
  }

  private Backend choose(Set<Backend> exclude) {
    int n = backends.size();
    if (n == 0) {
      return null;
    }
    // Collect candidates without allocating in the common case of a handful of backends.
    Backend[] candidates = new Backend[n];
    int count = 0;
    for (Backend b : backends) {
      if (b.routable() && b.hasCapacity() && !exclude.contains(b)) {
        candidates[count++] = b;
      }
    }
    if (count == 0) {
      return null;
    }
    if (count == 1) {
      return candidates[0];
    }
    ThreadLocalRandom random = ThreadLocalRandom.current();
    int i = random.nextInt(count);
    int j = random.nextInt(count - 1);
    if (j >= i) {
      j++;
    }
    Backend a = candidates[i];
    Backend b = candidates[j];
    return a.score() <= b.score() ? a : b;
  }
}
