package ai.gpt.api.billing.recharge;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each organization's {@link OrgWatch}, in memory, so a settlement reads no database. Reloaded (in the
 * background, the old value served meanwhile) at most {@link #REFRESH} after it was loaded, which is how long
 * another replica's change of the settings, or a charge begun there, may go unseen here; this replica forgets an
 * organization's entry at once when it changes them itself.
 */
final class WatchCache {
  private static final Logger LOG = LoggerFactory.getLogger(WatchCache.class);
  static final Duration REFRESH = Duration.ofSeconds(30);
  private static final Duration IDLE = Duration.ofMinutes(10);
  private static final long MAX_ORGS = 200_000;

  private final AsyncLoadingCache<Long, OrgWatch> cache;

  WatchCache(RechargeAttempts attempts, LowBalanceAlerts alerts) {
    // The loader only starts a non-blocking query, so it runs on the calling event loop (no thread hop).
    this.cache = Caffeine.newBuilder().maximumSize(MAX_ORGS).refreshAfterWrite(REFRESH).expireAfterAccess(IDLE)
        .executor(Runnable::run)
        .buildAsync((orgId, executor) -> attempts.watch(orgId).map(w -> new OrgWatch(w, alerts))
            .toCompletionStage().toCompletableFuture());
  }

  /** Runs {@code check} with the organization's watch: now when it is loaded, else once it is. */
  void with(long orgId, Consumer<OrgWatch> check) {
    CompletableFuture<OrgWatch> f = cache.get(orgId);
    if (!f.isDone()) {
      f.thenAccept(check).exceptionally(e -> {
        LOG.warn("Could not check the balance alerts of organization {}: {}", orgId, e.toString());
        return null;
      });
    } else if (!f.isCompletedExceptionally()) {
      check.accept(f.join());
    }
  }

  void forget(long orgId) {
    cache.synchronous().invalidate(orgId);
  }
}
