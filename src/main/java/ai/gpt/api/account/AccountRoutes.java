package ai.gpt.api.account;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.auth.ClientAddress;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.mail.Mailer;
import io.vertx.core.Future;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Sign-up, e-mail verification, sign-in, session refresh and sign-out, and passwords (forgot, reset, change).
 * Answers never tell whether an e-mail address has an account: sign-up and forgot-password look the same either
 * way, and a failed sign-in says only that the e-mail or password is wrong. For an account with two-factor
 * authentication the right password earns only a challenge; {@link TwoFactorRoutes} completes the sign-in.
 * Routes that send e-mail are limited per recipient and per client address ({@link MailLimits}).
 */
public final class AccountRoutes implements ApiRoutes {
  static final String REFRESH_COOKIE = "gptapi_refresh";
  static final String COOKIE_PATH = "/api/auth";
  /** Cookie-authenticated writes need this header, which a cross-site form or image cannot send (CSRF). */
  public static final String CSRF_HEADER = "X-GPTAPI-CSRF";

  private final AccountStore store;
  private final Sessions sessions;
  private final AccessTokens tokens;
  private final PasswordHasher hasher;
  private final SignInLimiter limiter;
  private final MailLimits mailLimits;
  private final ClientAddress clientAddress;
  private final TwoFactor twoFactor;
  private final Mailer mailer;
  private final String publicUrl;
  private final int sessionTtlDays;

  public AccountRoutes(AccountStore store, Sessions sessions, AccessTokens tokens, PasswordHasher hasher,
      SignInLimiter limiter, MailLimits mailLimits, ClientAddress clientAddress, TwoFactor twoFactor, Mailer mailer,
      String publicUrl, int sessionTtlDays) {
    this.store = store;
    this.sessions = sessions;
    this.tokens = tokens;
    this.hasher = hasher;
    this.limiter = limiter;
    this.mailLimits = mailLimits;
    this.clientAddress = clientAddress;
    this.twoFactor = twoFactor;
    this.mailer = mailer;
    this.publicUrl = publicUrl;
    this.sessionTtlDays = sessionTtlDays;
  }

  @Override
  public void mountPublic(Router api) {
    api.post("/auth/signup").handler(this::signUp);
    api.post("/auth/verify").handler(this::verify);
    api.post("/auth/signin").handler(this::signIn);
    api.post("/auth/refresh").handler(this::refresh);
    api.post("/auth/password/forgot").handler(this::forgot);
    api.post("/auth/password/reset").handler(this::reset);
  }

  @Override
  public void mountSignedIn(Router api) {
    api.post("/auth/signout").handler(this::signOut);
    api.post("/auth/password/change").handler(this::changePassword);
    api.get("/me").handler(this::me);
  }

  private void signUp(RoutingContext ctx) {
    JsonObject body = Json.body(ctx);
    String email = Json.email(body, "email");
    String password = password(body, "password");
    String name = body.getValue("name") == null ? "" : Json.name(body, "name", 200);
    // The address limit comes before the password hash, the costly part; the recipient limit only stops the mail.
    mailLimits.fromClient(clientAddress(ctx))
        .compose(v -> mailLimits.mayMail(email))
        .compose(mayMail -> hasher.hash(password)
            .compose(hash -> store.signUp(email, name, hash))
            .compose(token -> !mayMail ? Future.<Void>succeededFuture()
                : token == null ? mailer.send(email, "Your GPT API account", "Someone tried to sign up with this "
                    + "address, which already has an account. Sign in, or reset your password at " + publicUrl
                    + "/forgot-password.")
                : mailer.send(email, "Verify your e-mail for GPT API", "Open this link to verify your address "
                    + "(valid 24 hours):\n" + publicUrl + "/verify?token=" + token)))
        .onSuccess(v -> Json.send(ctx, 202, message("Check your e-mail to verify your address.")))
        .onFailure(ctx::fail);
  }

  private void verify(RoutingContext ctx) {
    String token = Json.string(Json.body(ctx), "token", 200);
    store.useToken(token, "verify").compose(userId -> {
      if (userId == null) {
        return Future.failedFuture(invalidToken());
      }
      return store.markVerified(userId);
    }).onSuccess(v -> Json.send(ctx, 200, message("Your e-mail address is verified."))).onFailure(ctx::fail);
  }

  private void signIn(RoutingContext ctx) {
    JsonObject body = Json.body(ctx);
    String email = Json.email(body, "email");
    String password = Json.string(body, "password", PasswordHasher.MAX_LENGTH);
    limiter.attempt(email, clientAddress(ctx)).compose(wait -> {
      if (wait > 0) {
        return Future.failedFuture(ApiError.of(429, "too_many_attempts",
            "Too many sign-in attempts. Please try again later.", wait));
      }
      return store.byEmail(email);
    }).compose(found -> hasher.verify(password, found == null ? null : found.passwordHash()).compose(ok -> {
      if (!ok) {
        return Future.failedFuture(ApiError.of(401, "invalid_credentials", "Wrong e-mail or password.", null));
      }
      if (!found.account().emailVerified()) {
        return Future.failedFuture(ApiError.of(403, "email_not_verified",
            "Verify your e-mail address first: open the link we sent you.", null));
      }
      // With two-factor authentication the password only earns a short-lived challenge, not a session.
      return twoFactor.enabled(found.account().id()).compose(twoFactorOn -> twoFactorOn
          ? twoFactor.newChallenge(found.account().id()).map(challenge -> new JsonObject()
              .put("two_factor_required", true).put("challenge", challenge))
          : startSession(ctx, found.account()));
    })).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /** A new session for a user who proved who they are: the sign-in answer, with the refresh cookie set. */
  Future<JsonObject> startSession(RoutingContext ctx, Account account) {
    return sessions.create(account.id(), ctx.request().getHeader("user-agent"), clientAddress(ctx))
        .map(issued -> signedIn(ctx, issued).put("user", account.toJson()));
  }

  private void refresh(RoutingContext ctx) {
    requireCsrfHeader(ctx);
    Cookie cookie = ctx.request().getCookie(REFRESH_COOKIE);
    if (cookie == null || cookie.getValue().isEmpty()) {
      throw ApiError.of(401, "no_session", "Not signed in.", null);
    }
    sessions.rotate(cookie.getValue()).onSuccess(rotation -> {
      if (rotation.issued() == null) {
        clearCookie(ctx);
        ctx.fail(ApiError.of(401, rotation.refusal() == Sessions.Refusal.REUSED ? "session_revoked" : "no_session",
            rotation.refusal() == Sessions.Refusal.REUSED
                ? "This sign-in was used from elsewhere and has been ended for safety. Please sign in again."
                : "Not signed in.", null));
        return;
      }
      Json.send(ctx, 200, signedIn(ctx, rotation.issued()));
    }).onFailure(ctx::fail);
  }

  private void signOut(RoutingContext ctx) {
    sessions.revoke(ApiAuth.of(ctx).sessionId()).onSuccess(v -> {
      clearCookie(ctx);
      ctx.response().setStatusCode(204).end();
    }).onFailure(ctx::fail);
  }

  private void forgot(RoutingContext ctx) {
    String email = Json.email(Json.body(ctx), "email");
    mailLimits.fromClient(clientAddress(ctx))
        .compose(v -> mailLimits.mayMail(email))
        .compose(mayMail -> !mayMail ? Future.succeededFuture() : store.byEmail(email).compose(found ->
            found == null ? Future.succeededFuture() : store.newResetToken(found.account().id()).compose(token ->
                mailer.send(email, "Reset your GPT API password", "Open this link to choose a new password (valid "
                    + "1 hour, once):\n" + publicUrl + "/reset-password?token=" + token))))
        .onSuccess(v -> Json.send(ctx, 202,
            message("If an account uses this address, we sent it a link to reset the password.")))
        .onFailure(ctx::fail);
  }

  private void reset(RoutingContext ctx) {
    JsonObject body = Json.body(ctx);
    String token = Json.string(body, "token", 200);
    String password = password(body, "password");
    // The token first: the Argon2 hash (the costly part) is only computed for a valid link, so requests with made-up
    // tokens, which no limit counts, cannot keep the worker threads hashing.
    store.useToken(token, "reset").compose(userId -> {
      if (userId == null) {
        return Future.failedFuture(invalidToken());
      }
      // The link proved the address, and every other session may belong to whoever knew the old password.
      return hasher.hash(password)
          .compose(hash -> store.setPassword(userId, hash))
          .compose(v -> store.dropTokens(userId, "reset"))
          .compose(v -> store.markVerified(userId))
          .compose(v -> sessions.revokeAll(userId, -1));
    }).onSuccess(v -> Json.send(ctx, 200, message("Your password is changed. Please sign in.")))
        .onFailure(ctx::fail);
  }

  private void changePassword(RoutingContext ctx) {
    JsonObject body = Json.body(ctx);
    String current = Json.string(body, "current_password", PasswordHasher.MAX_LENGTH);
    String next = password(body, "new_password");
    ApiAuth auth = ApiAuth.of(ctx);
    // A password guess like a sign-in: counted against the account and the address (a stolen access token must not
    // buy unlimited guesses of the password, nor unlimited Argon2 work).
    store.byId(auth.userId())
        .compose(found -> limiter.attempt(found.account().email(), clientAddress(ctx)).compose(wait -> wait > 0
            ? Future.failedFuture(ApiError.of(429, "too_many_attempts",
                "Too many password attempts. Please try again later.", wait))
            : hasher.verify(current, found.passwordHash())))
        .compose(ok -> ok ? hasher.hash(next) : Future.failedFuture(
            ApiError.of(400, "invalid_credentials", "The current password is wrong.", "current_password")))
        .compose(hash -> store.setPassword(auth.userId(), hash))
        .compose(v -> store.dropTokens(auth.userId(), "reset"))
        .compose(v -> sessions.revokeAll(auth.userId(), auth.sessionId()))
        .onSuccess(v -> Json.send(ctx, 200, message("Your password is changed; other sessions were signed out.")))
        .onFailure(ctx::fail);
  }

  private void me(RoutingContext ctx) {
    long userId = ApiAuth.of(ctx).userId();
    store.byId(userId).compose(found -> store.organizations(userId)
            .compose(orgs -> twoFactor.enabled(userId).map(twoFactorOn -> found.account().toJson()
                .put("two_factor_enabled", twoFactorOn).put("organizations", orgs))))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /** The access token in the body, the refresh token in an httpOnly cookie scripts cannot read. */
  private JsonObject signedIn(RoutingContext ctx, Sessions.Issued issued) {
    ctx.response().addCookie(Cookie.cookie(REFRESH_COOKIE, issued.refreshToken())
        .setPath(COOKIE_PATH).setHttpOnly(true).setSecure(true).setSameSite(CookieSameSite.STRICT)
        .setMaxAge(sessionTtlDays * 86_400L));
    return new JsonObject().put("access_token", tokens.issue(issued.userId(), issued.sessionId()))
        .put("token_type", "Bearer").put("expires_in", tokens.ttlSeconds());
  }

  private static void clearCookie(RoutingContext ctx) {
    ctx.response().addCookie(Cookie.cookie(REFRESH_COOKIE, "").setPath(COOKIE_PATH).setHttpOnly(true)
        .setSecure(true).setSameSite(CookieSameSite.STRICT).setMaxAge(0));
  }

  private static void requireCsrfHeader(RoutingContext ctx) {
    if (!"1".equals(ctx.request().getHeader(CSRF_HEADER))) {
      throw ApiError.of(403, "csrf_header_missing", "Send the header " + CSRF_HEADER + ": 1 with this request.",
          null);
    }
  }


  private static String password(JsonObject body, String field) {
    String password = Json.string(body, field, PasswordHasher.MAX_LENGTH);
    if (password.length() < PasswordHasher.MIN_LENGTH) {
      throw ApiError.invalidRequest("The password must be at least " + PasswordHasher.MIN_LENGTH
          + " characters long.", field);
    }
    return password;
  }

  /** The client's address, as every per-address limit and session record sees it. */
  String clientAddress(RoutingContext ctx) {
    return clientAddress.of(ctx);
  }

  private static ApiError invalidToken() {
    return ApiError.of(400, "invalid_token", "This link is invalid, expired or already used.", "token");
  }

  private static JsonObject message(String text) {
    return new JsonObject().put("message", text);
  }
}
