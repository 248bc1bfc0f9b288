package ai.gpt.api.usage;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/** Brings results back onto the usage writer's context, whose state is confined to it and never locked. */
final class ContextFutures {
  private ContextFutures() {}

  /** Completes on {@code context}, whatever thread completed {@code f}. */
  static <T> Future<T> onContext(Context context, Future<T> f) {
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
}
