package ai.gpt.api.account;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import io.vertx.junit5.VertxExtension;

/** Sign-up to sign-out through real HTTP, with the e-mails read from a real SMTP server. */
@ExtendWith(VertxExtension.class)
class AccountApiTest {
  private static final String PASSWORD = ApiClient.PASSWORD;

  private ApiClient api;
  private GatewayHarness gw;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    api = ApiClient.start(vertx);
    gw = api.gateway();
  }

  @AfterEach
  void stop() {
    api.close();
  }

  @Test
  @DisplayName("sign up, verify by e-mail, sign in, see my personal organization; mistakes get clear answers")
  void signUpVerifySignIn() {
    HttpResponse<Buffer> signedUp = post("/api/auth/signup", new JsonObject().put("email", " Ada@Example.com ")
        .put("password", PASSWORD).put("name", "Ada"));
    assertEquals(202, signedUp.statusCode(), signedUp.bodyAsString());
    String token = tokenFromMail("ada@example.com", "Verify your e-mail");

    HttpResponse<Buffer> early = signIn("ada@example.com", PASSWORD);
    assertEquals(403, early.statusCode());
    assertEquals("email_not_verified", code(early));
    assertEquals(200, post("/api/auth/verify", new JsonObject().put("token", token)).statusCode());
    HttpResponse<Buffer> again = post("/api/auth/verify", new JsonObject().put("token", token));
    assertEquals(400, again.statusCode());
    assertEquals("invalid_token", code(again));

    HttpResponse<Buffer> wrong = signIn("ada@example.com", "not the password");
    assertEquals(401, wrong.statusCode());
    assertEquals("invalid_credentials", code(wrong));
    HttpResponse<Buffer> unknown = signIn("nobody@example.com", PASSWORD);
    assertEquals(401, unknown.statusCode());
    assertEquals(wrong.bodyAsString(), unknown.bodyAsString(), "no hint whether the e-mail has an account");

    HttpResponse<Buffer> ok = signIn("ADA@example.com", PASSWORD);
    assertEquals(200, ok.statusCode(), ok.bodyAsString());
    String cookie = ok.getHeader("set-cookie");
    String attrs = cookie.toLowerCase(java.util.Locale.ROOT);
    assertTrue(cookie.startsWith(AccountRoutes.REFRESH_COOKIE + "=") && attrs.contains("; httponly")
        && attrs.contains("; secure") && attrs.contains("; samesite=strict") && attrs.contains("; path=/api/auth"),
        cookie);
    assertEquals("Bearer", ok.bodyAsJsonObject().getString("token_type"));
    JsonObject me = get("/api/me", access(ok)).bodyAsJsonObject();
    assertEquals("ada@example.com", me.getString("email"));
    assertEquals(true, me.getBoolean("email_verified"));
    assertEquals("owner", me.getJsonArray("organizations").getJsonObject(0).getString("role"));
    assertEquals("ada@example.com", me.getJsonArray("organizations").getJsonObject(0).getString("name"));
    assertTrue(!me.containsKey("password_hash"));

    // Signing up again with the same address reveals nothing and changes nothing; the owner gets a notice.
    HttpResponse<Buffer> dup = post("/api/auth/signup", new JsonObject().put("email", "ada@example.com")
        .put("password", "another password"));
    assertEquals(signedUp.bodyAsString(), dup.bodyAsString());
    assertTrue(mailTo("ada@example.com", "Your GPT API account").contains("already has an account"));
    assertEquals(200, signIn("ada@example.com", PASSWORD).statusCode());
  }

  @Test
  @DisplayName("bad input: 400 with the field named; no session: 401; an unsigned token: 401")
  void badInput() {
    HttpResponse<Buffer> noEmail = post("/api/auth/signup", new JsonObject().put("password", PASSWORD));
    assertEquals(400, noEmail.statusCode());
    assertEquals("email", noEmail.bodyAsJsonObject().getJsonObject("error").getString("param"));
    HttpResponse<Buffer> shortPw = post("/api/auth/signup", new JsonObject().put("email", "a@b.co")
        .put("password", "short"));
    assertEquals(400, shortPw.statusCode());
    assertEquals("password", shortPw.bodyAsJsonObject().getJsonObject("error").getString("param"));
    HttpResponse<Buffer> notJson = gw.client().post("/api/auth/signin").putHeader("content-type", "application/json")
        .sendBuffer(Buffer.buffer("{nope")).await();
    assertEquals(400, notJson.statusCode());
    assertEquals(401, get("/api/me", null).statusCode());
    // {"alg":"none"} with our claims: refused, the algorithm is pinned to HS256.
    String none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwic2lkIjoxLCJpc3MiOiJncHQtYXBpIn0.";
    assertEquals(401, get("/api/me", none).statusCode());
    assertEquals("nosniff", get("/api/me", null).getHeader("x-content-type-options"));
  }

  @Test
  @DisplayName("refresh rotates the token; replaying a used one revokes the session; sign-out ends it")
  void refreshRotationAndReuse() {
    signUpVerified("bob@example.com");
    HttpResponse<Buffer> ok = signIn("bob@example.com", PASSWORD);
    String first = refreshCookie(ok);

    HttpResponse<Buffer> noHeader = gw.client().post("/api/auth/refresh").putHeader("cookie", first).send().await();
    assertEquals(403, noHeader.statusCode(), "cookie-authenticated writes need the CSRF header");

    HttpResponse<Buffer> rotated = refresh(first);
    assertEquals(200, rotated.statusCode(), rotated.bodyAsString());
    String second = refreshCookie(rotated);
    assertNotEquals(first, second);
    String access = access(rotated);
    assertEquals(200, get("/api/me", access).statusCode());

    HttpResponse<Buffer> replay = refresh(first);
    assertEquals(401, replay.statusCode());
    assertEquals("session_revoked", code(replay));
    assertEquals(401, refresh(second).statusCode(), "the whole session family is gone");
    assertEquals(401, get("/api/me", access).statusCode(), "at once, not when the access token expires");

    HttpResponse<Buffer> again = signIn("bob@example.com", PASSWORD);
    HttpResponse<Buffer> out = gw.client().post("/api/auth/signout").bearerTokenAuthentication(access(again))
        .send().await();
    assertEquals(204, out.statusCode());
    assertEquals(401, get("/api/me", access(again)).statusCode());
    assertEquals(401, refresh(refreshCookie(again)).statusCode());
  }

  @Test
  @DisplayName("forgot and reset password by single-use e-mailed token; change password ends other sessions")
  void passwords() {
    signUpVerified("cy@example.com");
    HttpResponse<Buffer> elsewhere = signIn("cy@example.com", PASSWORD);
    HttpResponse<Buffer> unknown = post("/api/auth/password/forgot", new JsonObject().put("email", "x@example.com"));
    HttpResponse<Buffer> known = post("/api/auth/password/forgot", new JsonObject().put("email", "cy@example.com"));
    assertEquals(202, known.statusCode());
    assertEquals(known.bodyAsString(), unknown.bodyAsString(), "no hint whether the e-mail has an account");
    String token = tokenFromMail("cy@example.com", "Reset your GPT API password");

    // An expired link is refused like a used one.
    post("/api/auth/password/forgot", new JsonObject().put("email", "cy@example.com"));
    String expiring = tokenFromMail("cy@example.com", "Reset your GPT API password");
    assertNotEquals(token, expiring);
    gw.pool().preparedQuery("UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1")
        .execute(io.vertx.sqlclient.Tuple.of(SecretTokens.hash(expiring))).await();
    HttpResponse<Buffer> expired = post("/api/auth/password/reset",
        new JsonObject().put("token", expiring).put("password", "never applied"));
    assertEquals(400, expired.statusCode());
    assertEquals("invalid_token", code(expired));
    // A made-up or refused token costs no password hash (nothing limits these requests).
    long hashes = PasswordHasher.HASHES.sum();
    for (String bogus : java.util.List.of("made-up", expiring, "x".repeat(200))) {
      HttpResponse<Buffer> refused = post("/api/auth/password/reset",
          new JsonObject().put("token", bogus).put("password", "never applied"));
      assertEquals("invalid_token", code(refused));
    }
    assertEquals(hashes, PasswordHasher.HASHES.sum(), "no Argon2 hash for a refused reset");

    // A reset uses up every other pending reset link of the account.
    post("/api/auth/password/forgot", new JsonObject().put("email", "cy@example.com"));
    String pending = tokenFromMail("cy@example.com", "Reset your GPT API password");
    assertNotEquals(token, pending);

    String next = "a brand new passphrase";
    assertEquals(200, post("/api/auth/password/reset", new JsonObject().put("token", token).put("password", next))
        .statusCode());
    assertEquals("invalid_token", code(post("/api/auth/password/reset",
        new JsonObject().put("token", pending).put("password", "the old link's pick"))), "other links used up");
    HttpResponse<Buffer> reused = post("/api/auth/password/reset",
        new JsonObject().put("token", token).put("password", "yet another one!"));
    assertEquals(400, reused.statusCode());
    assertEquals("invalid_token", code(reused));
    assertEquals(401, signIn("cy@example.com", PASSWORD).statusCode());
    assertEquals(401, get("/api/me", access(elsewhere)).statusCode(), "a reset signs every session out");

    HttpResponse<Buffer> mine = signIn("cy@example.com", next);
    HttpResponse<Buffer> other = signIn("cy@example.com", next);
    HttpResponse<Buffer> wrongCurrent = gw.client().post("/api/auth/password/change")
        .bearerTokenAuthentication(access(mine))
        .sendJsonObject(new JsonObject().put("current_password", "nope nope").put("new_password", "third one!!"))
        .await();
    assertEquals(400, wrongCurrent.statusCode());
    // So does a password change (a link mailed before it must not undo it).
    gw.pool().preparedQuery("INSERT INTO email_tokens (token_hash, user_id, purpose, expires_at) SELECT $1, id, "
        + "'reset', now() + interval '1 hour' FROM users WHERE email = 'cy@example.com'")
        .execute(io.vertx.sqlclient.Tuple.of(SecretTokens.hash("mailed-before-the-change"))).await();
    HttpResponse<Buffer> changed = gw.client().post("/api/auth/password/change")
        .bearerTokenAuthentication(access(mine))
        .sendJsonObject(new JsonObject().put("current_password", next).put("new_password", "third one!!")).await();
    assertEquals(200, changed.statusCode(), changed.bodyAsString());
    assertEquals(200, get("/api/me", access(mine)).statusCode(), "this session stays");
    assertEquals(401, get("/api/me", access(other)).statusCode(), "the others end");
    assertEquals(200, signIn("cy@example.com", "third one!!").statusCode());
    assertEquals("invalid_token", code(post("/api/auth/password/reset", new JsonObject()
        .put("token", "mailed-before-the-change").put("password", "the old link's pick"))), "used up by the change");
  }

  @Test
  @DisplayName("sign-in attempts are limited per account: the 11th in 15 minutes gets 429 with Retry-After")
  void signInAttemptsLimited() {
    signUpVerified("dee@example.com");
    for (int i = 0; i < SignInLimiter.PER_ACCOUNT; i++) {
      assertEquals(401, signIn("dee@example.com", "guess number " + i).statusCode());
    }
    HttpResponse<Buffer> limited = signIn("dee@example.com", PASSWORD);
    assertEquals(429, limited.statusCode());
    assertEquals("too_many_attempts", code(limited));
    assertNotNull(limited.getHeader("retry-after"));
    assertEquals(401, signIn("other@example.com", PASSWORD).statusCode(),
        "another account from the same address is not limited by this one's attempts");
  }

  @Test
  @DisplayName("password change guesses count like sign-in attempts: a stolen access token buys no unlimited guessing")
  void passwordChangeAttemptsLimited() {
    signUpVerified("fay@example.com");
    String token = access(signIn("fay@example.com", PASSWORD)); // one attempt of the account's ten
    HttpResponse<Buffer> last = null;
    for (int i = 1; i < SignInLimiter.PER_ACCOUNT; i++) {
      last = gw.client().post("/api/auth/password/change").bearerTokenAuthentication(token)
          .sendJsonObject(new JsonObject().put("current_password", "guess number " + i)
              .put("new_password", "a new passphrase")).await();
      assertEquals(400, last.statusCode(), last.bodyAsString());
    }
    HttpResponse<Buffer> limited = gw.client().post("/api/auth/password/change").bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("current_password", PASSWORD).put("new_password", "a new passphrase"))
        .await();
    assertEquals(429, limited.statusCode(), limited.bodyAsString());
    assertEquals("too_many_attempts", code(limited));
    assertNotNull(limited.getHeader("retry-after"));
    assertEquals(429, signIn("fay@example.com", PASSWORD).statusCode(), "one count for the account");
  }

  private void signUpVerified(String email) {
    assertEquals(202, post("/api/auth/signup", new JsonObject().put("email", email).put("password", PASSWORD))
        .statusCode());
    String token = tokenFromMail(email, "Verify your e-mail");
    assertEquals(200, post("/api/auth/verify", new JsonObject().put("token", token)).statusCode());
  }

  private HttpResponse<Buffer> signIn(String email, String password) {
    return post("/api/auth/signin", new JsonObject().put("email", email).put("password", password));
  }

  private HttpResponse<Buffer> refresh(String cookie) {
    return gw.client().post("/api/auth/refresh").putHeader("cookie", cookie)
        .putHeader(AccountRoutes.CSRF_HEADER, "1").send().await();
  }

  private HttpResponse<Buffer> post(String path, JsonObject body) {
    return gw.client().post(path).sendJsonObject(body).await();
  }

  private HttpResponse<Buffer> get(String path, String accessToken) {
    HttpRequest<Buffer> r = gw.client().get(path);
    if (accessToken != null) {
      r.bearerTokenAuthentication(accessToken);
    }
    return r.send().await();
  }

  private static String access(HttpResponse<Buffer> signedIn) {
    return signedIn.bodyAsJsonObject().getString("access_token");
  }

  /** "name=value" of the refresh cookie, as a browser would send it back. */
  private static String refreshCookie(HttpResponse<Buffer> resp) {
    String header = resp.getHeader("set-cookie");
    return header.substring(0, header.indexOf(';'));
  }

  private static String code(HttpResponse<Buffer> resp) {
    return resp.bodyAsJsonObject().getJsonObject("error").getString("code");
  }

  private String tokenFromMail(String to, String subject) {
    return api.tokenFromMail(to, subject);
  }

  private String mailTo(String to, String subject) {
    return api.mailTo(to, subject);
  }
}
