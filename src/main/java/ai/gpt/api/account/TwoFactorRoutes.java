package ai.gpt.api.account;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Two-factor authentication: enroll an authenticator app, confirm it (which enables 2FA and hands out recovery
 * codes once), disable it, and the second step of signing in ({@code /auth/2fa/verify}). Every code checked at
 * sign-in or on disable counts against the {@link SignInLimiter} of the account, like a password attempt.
 */
public final class TwoFactorRoutes implements ApiRoutes {
  private static final int MAX_CODE_LENGTH = 64;

  private final AccountRoutes accounts;
  private final AccountStore store;
  private final TwoFactor twoFactor;
  private final PasswordHasher hasher;
  private final SignInLimiter limiter;

  public TwoFactorRoutes(AccountRoutes accounts, AccountStore store, TwoFactor twoFactor, PasswordHasher hasher,
      SignInLimiter limiter) {
    this.accounts = accounts;
    this.store = store;
    this.twoFactor = twoFactor;
    this.hasher = hasher;
    this.limiter = limiter;
  }

  @Override
  public void mountPublic(Router api) {
    api.post("/auth/2fa/verify").handler(this::verify);
  }

  @Override
  public void mountSignedIn(Router api) {
    api.post("/auth/2fa/enroll").handler(this::enroll);
    api.post("/auth/2fa/confirm").handler(this::confirm);
    api.post("/auth/2fa/disable").handler(this::disable);
  }

  private void enroll(RoutingContext ctx) {
    long userId = ApiAuth.of(ctx).userId();
    store.byId(userId).compose(found -> twoFactor.enroll(userId, found.account().email())).compose(enrollment ->
            enrollment == null ? Future.failedFuture(alreadyEnabled())
                : Future.succeededFuture(new JsonObject().put("secret", enrollment.secret())
                    .put("otpauth_uri", enrollment.otpauthUri())))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private void confirm(RoutingContext ctx) {
    String code = Json.string(Json.body(ctx), "code", MAX_CODE_LENGTH);
    twoFactor.confirm(ApiAuth.of(ctx).userId(), code).recover(TwoFactorRoutes::stateError).compose(codes ->
            codes.isEmpty() ? Future.failedFuture(invalidCode(400))
                : Future.succeededFuture(new JsonObject().put("two_factor_enabled", true)
                    .put("recovery_codes", new JsonArray(codes))))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private void disable(RoutingContext ctx) {
    JsonObject body = Json.body(ctx);
    String password = Json.string(body, "password", PasswordHasher.MAX_LENGTH);
    String code = Json.string(body, "code", MAX_CODE_LENGTH);
    long userId = ApiAuth.of(ctx).userId();
    store.byId(userId).compose(found -> limiter.attempt(found.account().email(), accounts.clientAddress(ctx))
            .compose(wait -> wait > 0 ? Future.failedFuture(tooManyAttempts(wait))
                : hasher.verify(password, found.passwordHash())))
        .compose(ok -> ok ? twoFactor.disable(userId, code).recover(TwoFactorRoutes::stateError)
            : Future.failedFuture(ApiError.of(400, "invalid_credentials", "The password is wrong.", "password")))
        .compose(ok -> ok ? Future.succeededFuture(new JsonObject().put("two_factor_enabled", false)
            .put("message", "Two-factor authentication is off.")) : Future.failedFuture(invalidCode(400)))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /** The second step of signing in: the challenge from /auth/signin and a TOTP or recovery code. */
  private void verify(RoutingContext ctx) {
    JsonObject body = Json.body(ctx);
    String challenge = Json.string(body, "challenge", 200);
    String code = Json.string(body, "code", MAX_CODE_LENGTH);
    twoFactor.pending(challenge).compose(pending -> {
      if (pending == null) {
        return Future.failedFuture(invalidChallenge());
      }
      return limiter.attempt(pending.email(), accounts.clientAddress(ctx))
          .compose(wait -> wait > 0 ? Future.failedFuture(tooManyAttempts(wait)) : twoFactor.verify(challenge, code))
          .compose(verdict -> switch (verdict) {
            case OK -> store.byId(pending.userId()).compose(found -> accounts.startSession(ctx, found.account()));
            case WRONG_CODE -> Future.failedFuture(invalidCode(401));
            case INVALID_CHALLENGE -> Future.failedFuture(invalidChallenge());
          });
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private static <T> Future<T> stateError(Throwable err) {
    if (err instanceof TwoFactor.StateException e) {
      return Future.failedFuture(e.state == TwoFactor.State.ENABLED ? alreadyEnabled()
          : ApiError.of(409, "two_factor_not_enabled", "Two-factor authentication is not enabled; enroll first.",
              null));
    }
    return Future.failedFuture(err);
  }

  private static ApiError alreadyEnabled() {
    return ApiError.of(409, "two_factor_enabled", "Two-factor authentication is already on; disable it first.", null);
  }

  private static ApiError invalidCode(int status) {
    return ApiError.of(status, "invalid_code", "The code is wrong, expired or already used.", "code");
  }

  private static ApiError invalidChallenge() {
    return ApiError.of(401, "invalid_challenge", "This sign-in has expired or was already completed. Please sign "
        + "in again.", "challenge");
  }

  private static ApiError tooManyAttempts(long wait) {
    return ApiError.of(429, "too_many_attempts", "Too many sign-in attempts. Please try again later.", wait);
  }
}
