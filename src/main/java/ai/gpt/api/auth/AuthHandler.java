package ai.gpt.api.auth;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.metering.AdmissionErrors;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;

/**
 * Resolves the bearer key to an {@link ApiKey} and puts it on the context, or fails with 401. Every failure counts
 * against the client's address ({@link AuthFailures}); an address over its limit gets 429 without a PostgreSQL
 * lookup. One exception keeps clients behind a shared address (NAT, a company proxy) working while someone there
 * sends bad keys: a key this replica already holds in its cache of valid keys is still accepted, since checking
 * it costs no query. Any other key from a throttled address waits like the bad ones.
 */
public final class AuthHandler implements Handler<RoutingContext> {
  public static final String KEY = "apiKey";
  private static final String BEARER = "Bearer ";

  private final KeyStore store;
  private final KeyHasher hasher;
  private final LastUsedTracker lastUsed;
  private final AuthFailures failures;
  private final ClientAddress clientAddress;

  public AuthHandler(KeyStore store, KeyHasher hasher, LastUsedTracker lastUsed, AuthFailures failures,
      ClientAddress clientAddress) {
    this.store = store;
    this.hasher = hasher;
    this.lastUsed = lastUsed;
    this.failures = failures;
    this.clientAddress = clientAddress;
  }

  public static ApiKey key(RoutingContext ctx) {
    return ctx.get(KEY);
  }

  @Override
  public void handle(RoutingContext ctx) {
    String address = clientAddress.of(ctx);
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    boolean bearer = header != null && header.regionMatches(true, 0, BEARER, 0, BEARER.length());
    ApiKeyFormat.Presented presented = bearer ? ApiKeyFormat.parse(header.substring(BEARER.length()).trim()) : null;
    long wait = failures.retryAfterMs(address);
    if (wait > 0) {
      ApiKey cached = presented == null ? null : store.cached(presented.publicId());
      if (accepts(cached, presented)) {
        admit(ctx, cached);
      } else {
        failures.countThrottled();
        ctx.fail(ApiError.of(429, "too_many_auth_failures", "Too many requests with a missing or incorrect API key "
            + "came from your address. Check the key and retry after the time in the Retry-After header.", wait));
      }
      return;
    }
    if (presented == null) {
      failures.failed(address);
      ctx.fail(bearer ? incorrect() : ApiError.invalidApiKey(
          "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'."));
      return;
    }
    store.find(presented.publicId()).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ApiError.unavailable("Authentication is temporarily unavailable. Please retry."));
        return;
      }
      ApiKey key = ar.result().orElse(null);
      if (!accepts(key, presented)) {
        failures.failed(address);
        ctx.fail(incorrect());
        return;
      }
      admit(ctx, key);
    });
  }

  private boolean accepts(ApiKey key, ApiKeyFormat.Presented presented) {
    return key != null && hasher.matches(presented.secret(), key.secretHash()) && key.usable(Instant.now());
  }

  private void admit(RoutingContext ctx, ApiKey key) {
    if (key.suspended()) {
      // The key is right, so this is no authentication failure; read from the cached key, so it costs no query.
      ctx.fail(AdmissionErrors.accountSuspended());
      return;
    }
    ctx.put(KEY, key);
    lastUsed.touch(key.id());
    ctx.next();
  }

  private static ApiError incorrect() {
    // One message for unknown, revoked, expired and malformed keys: the caller learns nothing about which.
    return ApiError.invalidApiKey("Incorrect API key provided, or the key is revoked or expired.");
  }
}
