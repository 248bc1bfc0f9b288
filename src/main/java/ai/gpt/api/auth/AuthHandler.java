package ai.gpt.api.auth;

import ai.gpt.api.error.ApiError;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;

/** Resolves the bearer key to an {@link ApiKey} and puts it on the context, or fails with 401. */
public final class AuthHandler implements Handler<RoutingContext> {
  public static final String KEY = "apiKey";
  private static final String BEARER = "Bearer ";

  private final KeyStore store;
  private final KeyHasher hasher;
  private final LastUsedTracker lastUsed;

  private AuthHandler(KeyStore store, KeyHasher hasher, LastUsedTracker lastUsed) {
    this.store = store;
    this.hasher = hasher;
    this.lastUsed = lastUsed;
  }

  public static AuthHandler create(KeyStore store, KeyHasher hasher, LastUsedTracker lastUsed) {
    return new AuthHandler(store, hasher, lastUsed);
  }

  public static ApiKey key(RoutingContext ctx) {
    return ctx.get(KEY);
  }

  @Override
  public void handle(RoutingContext ctx) {
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (header == null || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      ctx.fail(ApiError.invalidApiKey(
          "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'."));
      return;
    }
    ApiKeyFormat.Presented presented = ApiKeyFormat.parse(header.substring(BEARER.length()).trim());
    if (presented == null) {
      ctx.fail(incorrect());
      return;
    }
    store.find(presented.publicId()).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ApiError.unavailable("Authentication is temporarily unavailable. Please retry."));
        return;
      }
      ApiKey key = ar.result().orElse(null);
      if (key == null || !hasher.matches(presented.secret(), key.secretHash()) || !key.usable(Instant.now())) {
        ctx.fail(incorrect());
        return;
      }
      ctx.put(KEY, key);
      lastUsed.touch(key.id());
      ctx.next();
    });
  }

  private static ApiError incorrect() {
    // One message for unknown, revoked, expired and malformed keys: the caller learns nothing about which.
    return ApiError.invalidApiKey("Incorrect API key provided, or the key is revoked or expired.");
  }
}
