package ai.gpt.api.metering;

import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.limits.Bucket;
import ai.gpt.api.limits.LimiterSettings;
import ai.gpt.api.limits.SettledUsage;
import ai.gpt.api.limits.TokenBucket;
import ai.gpt.api.limits.Window;
import ai.gpt.api.limits.WindowState;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The fail-open approximation of {@code admit_v6.lua}, used only while Redis is down and the policy is
 * {@link FailurePolicy#OPEN}: the same limits and refill rule ({@link TokenBucket}), kept in this replica's
 * memory. It cannot see other replicas, so each replica may admit up to a full window while the outage lasts.
 * Credit is the organization's available credit as this replica last saw it from Redis, minus what it admits
 * locally; an organization this replica has not seen since it started is refused (503), since nothing here knows
 * its balance.
 *
 * <p>Synchronized: it serves every event loop, and only during an outage.
 *
 * <p>Bounded: remembered credit and bucket levels are caches with a size cap and an age limit of the longest
 * window (a bucket untouched for that long is full again, so forgetting it changes nothing); leases and
 * reservations live only while their requests are in flight.
 */
final class LocalLimiter {
  private record Level(double value, long atMs) {}

  private record Reservation(long orgId, long keyId, long holdMicros, long tokens, boolean lease,
      List<Bucket> tokenBuckets, List<Long> capacities) {}

  /** Thrown when this replica has no idea of the organization's credit. */
  static final class UnknownBalance extends RuntimeException {
    UnknownBalance(long orgId) {
      super("no known balance for org " + orgId, null, false, false);
    }
  }

  static final long MAX_ORGS = 100_000;
  static final long MAX_BUCKETS = 1_000_000;

  private final LimiterSettings settings;
  private final Cache<Long, Long> available;
  private final Cache<String, Level> levels;
  private final Map<Long, Integer> leases = new HashMap<>();
  private final Map<String, Reservation> reservations = new HashMap<>();

  LocalLimiter(LimiterSettings settings) {
    this.settings = settings;
    Duration longestWindow = Duration.ofMillis(settings.windowMs(Window.DAY));
    this.available = Caffeine.newBuilder().maximumSize(MAX_ORGS).expireAfterWrite(longestWindow).build();
    this.levels = Caffeine.newBuilder().maximumSize(MAX_BUCKETS).expireAfterAccess(longestWindow).build();
  }

  /** Remembers the organization's credit after a Redis admission, for use if Redis goes away. */
  void observe(long orgId, long availableMicros) {
    available.put(orgId, availableMicros);
  }

  synchronized AdmissionResult admit(AdmissionRequest r, long nowMs) {
    Long credit = available.getIfPresent(r.orgId());
    if (credit == null) {
      throw new UnknownBalance(r.orgId());
    }
    boolean quotaOk = r.holdMicros() > 0 ? credit >= r.holdMicros() : credit > 0;
    List<Bucket> buckets = new ArrayList<>();
    List<Long> caps = new ArrayList<>();
    List<Double> before = new ArrayList<>();
    Bucket tripped = null;
    long retry = 0;
    for (Bucket b : Bucket.ALL) {
      Long cap = (b.scope() == Bucket.Scope.ORG ? r.orgLimits() : r.keyLimits()).get(b.kind(), b.window());
      if (cap == null) {
        continue;
      }
      double level = level(key(r, b), cap, b, nowMs);
      long amount = amount(r, b);
      buckets.add(b);
      caps.add(cap);
      before.add(level);
      long wait = TokenBucket.msUntilAvailable(level, amount, cap, settings.windowMs(b.window()));
      if (wait != 0) {
        if (tripped == null || retry != -1 && (wait == -1 || wait > retry)) {
          tripped = b;
          retry = wait;
        }
      }
    }
    Integer concurrency = r.keyLimits().concurrency();
    boolean concurrencyOk = concurrency == null || leases.getOrDefault(r.keyId(), 0) < concurrency;

    AdmissionResult.Outcome outcome = !quotaOk ? AdmissionResult.Outcome.INSUFFICIENT_QUOTA
        : tripped != null ? AdmissionResult.Outcome.RATE_LIMITED
        : !concurrencyOk ? AdmissionResult.Outcome.CONCURRENCY_LIMITED
        : AdmissionResult.Outcome.ADMITTED;
    boolean admitted = outcome == AdmissionResult.Outcome.ADMITTED;
    List<Bucket> tokenBuckets = new ArrayList<>();
    List<Long> tokenCaps = new ArrayList<>();
    WindowState requests = null;
    WindowState tokens = null;
    for (int i = 0; i < buckets.size(); i++) {
      Bucket b = buckets.get(i);
      double after = admitted ? before.get(i) - amount(r, b) : before.get(i);
      if (admitted) {
        levels.put(key(r, b), new Level(after, nowMs));
      }
      if (b.kind() == Bucket.Kind.TOKENS) {
        tokenBuckets.add(b);
        tokenCaps.add(caps.get(i));
      }
      long cap = caps.get(i);
      WindowState state = new WindowState(b, cap, TokenBucket.remaining(after),
          TokenBucket.msUntilFull(after, cap, settings.windowMs(b.window())));
      if (b.kind() == Bucket.Kind.REQUESTS) {
        requests = tighter(requests, state);
      } else {
        tokens = tighter(tokens, state);
      }
    }
    if (admitted) {
      available.asMap().merge(r.orgId(), -r.holdMicros(), Long::sum);
      if (concurrency != null) {
        leases.merge(r.keyId(), 1, Integer::sum);
      }
      reservations.put(r.requestId(), new Reservation(r.orgId(), r.keyId(), r.holdMicros(), r.reservedTokens(),
          concurrency != null, tokenBuckets, tokenCaps));
    }
    long retryMs = switch (outcome) {
      case RATE_LIMITED -> retry;
      case CONCURRENCY_LIMITED -> settings.concurrencyRetryAfterMs();
      default -> -1;
    };
    return new AdmissionResult(outcome, outcome == AdmissionResult.Outcome.RATE_LIMITED ? tripped : null, retryMs,
        requests, tokens, credit);
  }

  /**
   * Releases what {@link #admit} took for this request: the lease, the unused tokens and the hold, charging the
   * cost to the remembered credit. Returns false when the request was not admitted here.
   */
  synchronized boolean settle(SettledUsage u, long nowMs) {
    Reservation res = reservations.remove(u.requestId());
    if (res == null) {
      return false;
    }
    if (res.lease()) {
      leases.computeIfPresent(res.keyId(), (k, n) -> n <= 1 ? null : n - 1);
    }
    long unused = res.tokens() - (u.promptTokens() + u.completionTokens());
    for (int i = 0; i < res.tokenBuckets().size(); i++) {
      Bucket b = res.tokenBuckets().get(i);
      long cap = res.capacities().get(i);
      String key = key(res.orgId(), res.keyId(), b);
      double level = level(key, cap, b, nowMs);
      levels.put(key, new Level(Math.min(cap, level + unused), nowMs));
    }
    available.asMap().merge(res.orgId(), res.holdMicros() - u.costMicros(), Long::sum);
    return true;
  }

  /** Forgets the buckets (Redis has its own again); reservations stay until their requests settle. */
  synchronized void reset() {
    levels.invalidateAll();
  }

  private double level(String key, long cap, Bucket b, long nowMs) {
    Level l = levels.getIfPresent(key);
    return l == null ? cap : TokenBucket.level(l.value(), l.atMs(), cap, settings.windowMs(b.window()), nowMs);
  }

  private static long amount(AdmissionRequest r, Bucket b) {
    return b.kind() == Bucket.Kind.REQUESTS ? 1 : r.reservedTokens();
  }

  private static String key(AdmissionRequest r, Bucket b) {
    return key(r.orgId(), r.keyId(), b);
  }

  private static String key(long orgId, long keyId, Bucket b) {
    return b.scope().code() + ':' + (b.scope() == Bucket.Scope.ORG ? orgId : keyId) + ':' + b.kind().code() + ':'
        + b.window().code();
  }

  /** Least remaining wins; on a tie, the one that takes longer to refill (as admit_v6.lua reports). */
  private static WindowState tighter(WindowState a, WindowState b) {
    if (a == null) {
      return b;
    }
    if (b.remaining() != a.remaining()) {
      return b.remaining() < a.remaining() ? b : a;
    }
    return b.resetMs() > a.resetMs() ? b : a;
  }
}
