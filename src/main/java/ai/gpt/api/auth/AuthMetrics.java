package ai.gpt.api.auth;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.function.ToDoubleFunction;

/** Sizes of the authentication caches, PostgreSQL key lookups and throttled requests, read when scraped. */
public final class AuthMetrics {
  private AuthMetrics() {}

  public static void register(MeterRegistry registry, KeyStore keys, AuthFailures failures,
      LastUsedTracker lastUsed) {
    cacheSize(registry, "api_keys", keys, k -> k.cachedKeys());
    cacheSize(registry, "unknown_api_keys", keys, k -> k.cachedMisses());
    cacheSize(registry, "auth_failure_addresses", failures, f -> f.addresses());
    cacheSize(registry, "last_used_pending", lastUsed, t -> t.pending());
    FunctionCounter.builder("gptapi_auth_key_queries", keys, k -> k.queries())
        .description("API key lookups sent to PostgreSQL (cache misses)").register(registry);
    FunctionCounter.builder("gptapi_auth_throttled", failures, f -> f.throttled())
        .description("/v1 requests refused with 429 because their address sent too many bad keys")
        .register(registry);
  }

  private static <T> void cacheSize(MeterRegistry registry, String cache, T owner,
      ToDoubleFunction<T> size) {
    Gauge.builder("gptapi_cache_entries", owner, size).tag("cache", cache)
        .description("Entries in a bounded in-memory cache").register(registry);
  }
}
