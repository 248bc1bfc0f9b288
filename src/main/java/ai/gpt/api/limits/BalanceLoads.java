package ai.gpt.api.limits;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.redis.client.Response;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * Loads hot balances for the scripts that need one ({@code admit_v6.lua}, {@code debit_hold_v1.lua}). Such a
 * script answers {@code {"no_balance", generation}} when the balance key is missing; the balance is then read
 * from PostgreSQL and passed back to the script together with that generation, which stores it only if the
 * generation is unchanged. A ledger change that drops the balance (a transfer, a deduction, a credit) bumps the
 * generation, and so does a request settled while the balance is missing (settle_v7.lua: its cost is then only in
 * the outbox), so a load that read the ledger or the outbox before either can never be stored after it: no SET NX
 * race.
 * Concurrent loads of one organization at one generation on this replica are coalesced.
 */
public final class BalanceLoads {
  /**
   * Reloads before giving up: each retry means that while the balance was read it was dropped again, or a request
   * settled with no balance to charge (settle_v7.lua), as the requests admitted before a drop do just after it.
   */
  private static final int ATTEMPTS = 8;

  private final BalanceLoader loader;
  private final Map<String, Future<Long>> running = new ConcurrentHashMap<>();

  public BalanceLoads(BalanceLoader loader) {
    this.loader = loader;
  }

  /**
   * Calls {@code script(loadedBalance, generation)} (first with two empty strings) until it answers something
   * other than {@code no_balance}, loading the balance in between.
   */
  public Future<Response> call(long orgId, BiFunction<String, String, Future<Response>> script) {
    return attempt(orgId, script, "", "", ATTEMPTS);
  }

  private Future<Response> attempt(long orgId, BiFunction<String, String, Future<Response>> script, String balance,
      String generation, int left) {
    return script.apply(balance, generation).compose(resp -> {
      if (!"no_balance".equals(resp.get(0).toString())) {
        return Future.succeededFuture(resp);
      }
      if (left == 0) {
        return Future.failedFuture(new IllegalStateException("the balance of org " + orgId
            + " kept changing while it was loaded"));
      }
      String seen = resp.get(1).toString();
      return load(orgId, seen).compose(loaded -> attempt(orgId, script, Long.toString(loaded), seen, left - 1));
    });
  }

  private Future<Long> load(long orgId, String generation) {
    String key = orgId + "@" + generation;
    Promise<Long> promise = Promise.promise();
    Future<Long> earlier = running.putIfAbsent(key, promise.future());
    if (earlier != null) {
      return earlier;
    }
    Future<Long> loaded;
    try {
      loaded = loader.load(orgId);
    } catch (RuntimeException e) {
      loaded = Future.failedFuture(e);
    }
    loaded.compose(balance -> balance == null
            ? Future.<Long>failedFuture(new IllegalStateException("no balance for org " + orgId))
            : Future.succeededFuture(balance))
        .onComplete(ar -> {
          running.remove(key, promise.future());
          promise.handle(ar);
        });
    return promise.future();
  }
}
