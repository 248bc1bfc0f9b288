package ai.gpt.api.metering;

import ai.gpt.api.routing.LocalFailures;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * A timeout for a Redis call that does not blame Redis for this process's own load. When the timer fires late (the
 * event loop was busy with a burst, and Redis's reply may be sitting unread in this process), or while Redis keeps
 * answering other calls (this one is only queued behind them in this process), the call gets another period, up to
 * {@code maxMs} in all. A timer that fires on time, with Redis silent for the whole period, means Redis did not
 * answer.
 */
final class Deadline {
  private Deadline() {}

  /** The call's deadline passed on a responsive event loop; no stack trace, as this is an answer, not a bug. */
  static final class Expired extends TimeoutException {
    Expired(String message) {
      super(message);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this;
    }
  }

  /** @param answering whether Redis answered any call within the last {@code timeoutMs} */
  static <T> Future<T> of(Vertx vertx, Future<T> call, long timeoutMs, long maxMs, BooleanSupplier answering) {
    if (call.isComplete()) {
      return call;
    }
    Promise<T> result = Promise.promise();
    long start = System.nanoTime();
    arm(vertx, call, result, start, start + timeoutMs * 1_000_000, timeoutMs, maxMs, answering);
    call.onComplete(ar -> {
      if (ar.succeeded()) {
        result.tryComplete(ar.result());
      } else {
        result.tryFail(ar.cause());
      }
    });
    return result.future();
  }

  private static <T> void arm(Vertx vertx, Future<T> call, Promise<T> result, long start, long dueNanos,
      long timeoutMs, long maxMs, BooleanSupplier answering) {
    long timer = vertx.setTimer(Math.max(1, (dueNanos - System.nanoTime()) / 1_000_000), id -> {
      if (call.isComplete()) {
        return;
      }
      long now = System.nanoTime();
      boolean late = now - dueNanos > LocalFailures.LAG_SLACK_MS * 1_000_000;
      if ((late || answering.getAsBoolean()) && now - start < maxMs * 1_000_000) {
        arm(vertx, call, result, start, now + timeoutMs * 1_000_000, timeoutMs, maxMs, answering);
      } else {
        result.tryFail(new Expired("Redis did not answer within " + timeoutMs + " ms"));
      }
    });
    call.onComplete(done -> vertx.cancelTimer(timer));
  }
}
