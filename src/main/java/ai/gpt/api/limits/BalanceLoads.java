package ai.gpt.api.limits;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Response;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * Loads hot balances for the scripts that need one ({@code admit_v6.lua}, {@code debit_hold_v1.lua}). Such a
 * script answers {@code {"no_balance", generation}} when the balance key is missing; the balance is then read
 * from PostgreSQL and passed back to the script together with that generation, which stores it only if the
 * generation is unchanged. A ledger change that drops the balance (a transfer, a deduction, a credit) bumps the
 * generation, and so does a request settled while the balance is missing (settle_v8.lua: its cost is then only in
 * the outbox), so a load that read the ledger or the outbox before either can never be stored after it: no SET NX
 * race.
 * Concurrent loads of one organization at one generation on this replica are coalesced.
 */
public final class BalanceLoads {
  /**
   * A stored load is refused when, while the balance was read, it was dropped again or a request settled with no
   * balance to charge (settle_v8.lua). Just after a drop the organization's requests in flight, and those of its
   * allotments on every replica, all settle so: a busy organization's loads may be refused for a moment. The first
   * reloads follow at once, the later ones after growing pauses; after {@link #GIVE_UP_MS} the call fails.
   */
  private static final int IMMEDIATE_RELOADS = 4;
  private static final long FIRST_PAUSE_MS = 10;
  private static final long MAX_PAUSE_MS = 200;
  private static final long GIVE_UP_MS = 2_000;

  private final Vertx vertx;
  private final BalanceLoader loader;
  private final Map<String, Future<Long>> running = new ConcurrentHashMap<>();

  public BalanceLoads(Vertx vertx, BalanceLoader loader) {
    this.vertx = vertx;
    this.loader = loader;
  }

  /**
   * Calls {@code script(loadedBalance, generation)} (first with two empty strings) until it answers something
   * other than {@code no_balance}, loading the balance in between.
   */
  public Future<Response> call(long orgId, BiFunction<String, String, Future<Response>> script) {
    return attempt(orgId, script, "", "", 0, System.currentTimeMillis() + GIVE_UP_MS);
  }

  private Future<Response> attempt(long orgId, BiFunction<String, String, Future<Response>> script, String balance,
      String generation, int loads, long giveUpAtMs) {
    return script.apply(balance, generation).compose(resp -> {
      if (!"no_balance".equals(resp.get(0).toString())) {
        return Future.succeededFuture(resp);
      }
      if (loads > 0 && System.currentTimeMillis() >= giveUpAtMs) {
        return Future.failedFuture(new IllegalStateException("the balance of org " + orgId
            + " kept changing while it was loaded (" + loads + " loads)"));
      }
      String seen = resp.get(1).toString();
      Future<?> pause = loads < IMMEDIATE_RELOADS ? Future.succeededFuture()
          : vertx.timer(Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS << Math.min(10, loads - IMMEDIATE_RELOADS)));
      return pause.compose(v -> load(orgId, seen))
          .compose(loaded -> attempt(orgId, script, Long.toString(loaded), seen, loads + 1, giveUpAtMs));
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
