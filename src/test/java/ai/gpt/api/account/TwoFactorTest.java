package ai.gpt.api.account;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.TestServices;
import com.eatthepath.otp.TimeBasedOneTimePasswordGenerator;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Locale;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two-factor authentication through real HTTP, with the codes computed here from the returned secret by java-otp,
 * the way an authenticator app would.
 */
@ExtendWith(VertxExtension.class)
class TwoFactorTest {
  private static final String PASSWORD = "correct horse battery";
  private static final long STEP_SECONDS = 30;

  private GatewayHarness gw;
  private Vertx vertx;
  /** The 30-second step at the start of the test; codes of base-1, base and base+1 are all accepted. */
  private long base;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    gw = GatewayHarness.start(vertx);
    // Start early in a step so the whole test stays within base's window of accepted steps.
    long intoStep = Instant.now().getEpochSecond() % STEP_SECONDS;
    if (intoStep > 20) {
      Thread.sleep((STEP_SECONDS - intoStep) * 1000 + 200);
    }
    base = Instant.now().getEpochSecond() / STEP_SECONDS;
  }

  @AfterEach
  void stop() {
    gw.close();
  }

  @Test
  @DisplayName("enroll, confirm, sign in with a code; replayed and used codes refused; recovery codes; disable")
  void fullFlow() throws Exception {
    long userId = signUpVerified("ann@example.com");
    String access = access(signIn("ann@example.com", PASSWORD));

    HttpResponse<Buffer> first = post("/api/auth/2fa/enroll", access, new JsonObject());
    assertEquals(200, first.statusCode(), first.bodyAsString());
    HttpResponse<Buffer> enrolled = post("/api/auth/2fa/enroll", access, new JsonObject());
    assertEquals(200, enrolled.statusCode(), "a pending enrollment is replaced");
    String secret = enrolled.bodyAsJsonObject().getString("secret");
    assertNotEquals(first.bodyAsJsonObject().getString("secret"), secret);
    assertEquals("otpauth://totp/GPT%20API:ann@example.com?secret=" + secret
            + "&issuer=GPT%20API&algorithm=SHA1&digits=6&period=30",
        enrolled.bodyAsJsonObject().getString("otpauth_uri"));
    byte[] key = Base32.decode(secret);
    assertEquals(20, key.length);

    // Stored encrypted: neither the base32 text nor the raw key, and 12-byte nonce + 20 bytes + 16-byte tag.
    byte[] stored = gw.pool().preparedQuery("SELECT secret_enc FROM totp_secrets WHERE user_id = $1")
        .execute(Tuple.of(userId)).await().iterator().next().getBuffer(0).getBytes();
    assertEquals(12 + 20 + 16, stored.length);
    assertFalse(new String(stored, StandardCharsets.ISO_8859_1).contains(secret));
    assertFalse(contains(stored, key));
    SecretBox box = new SecretBox(TestServices.SECRETS_KEY);
    assertArrayEquals(key, box.decrypt(stored, "totp:" + userId));
    assertThrows(IllegalStateException.class, () -> box.decrypt(stored, "totp:" + (userId + 1)),
        "bound to its user");
    assertThrows(IllegalStateException.class, () -> new SecretBox("another key, also 32 characters long")
        .decrypt(stored, "totp:" + userId));
    assertNotEquals(HexFormat.of().formatHex(box.encrypt(key, "x")), HexFormat.of().formatHex(box.encrypt(key, "x")),
        "a fresh nonce every time");

    // Not enabled yet: sign-in is still one step, and /api/me says so (the dashboard's Security tab reads it).
    assertEquals(false, get("/api/me", access).bodyAsJsonObject().getBoolean("two_factor_enabled"));
    assertNotNull(signIn("ann@example.com", PASSWORD).bodyAsJsonObject().getString("access_token"));

    HttpResponse<Buffer> wrong = post("/api/auth/2fa/confirm", access, new JsonObject().put("code", wrongCode(key)));
    assertEquals(400, wrong.statusCode());
    assertEquals("invalid_code", code(wrong));
    assertEquals(400, post("/api/auth/2fa/confirm", access,
        new JsonObject().put("code", totp(Base32.decode(first.bodyAsJsonObject().getString("secret")), base)))
        .statusCode(), "the replaced secret's codes do not confirm");

    HttpResponse<Buffer> confirmed = post("/api/auth/2fa/confirm", access,
        new JsonObject().put("code", totp(key, base - 1)));
    assertEquals(200, confirmed.statusCode(), confirmed.bodyAsString());
    JsonArray recovery = confirmed.bodyAsJsonObject().getJsonArray("recovery_codes");
    assertEquals(10, recovery.size());
    assertEquals(10, new HashSet<>(recovery.getList()).size());
    assertEquals(409, post("/api/auth/2fa/enroll", access, new JsonObject()).statusCode());
    assertEquals(true, get("/api/me", access).bodyAsJsonObject().getBoolean("two_factor_enabled"));
    for (Row r : gw.pool().query("SELECT code_hash FROM totp_recovery_codes").execute().await()) {
      assertFalse(recovery.getList().contains(r.getString(0)), "only hashes are stored");
    }

    // The password alone now earns a challenge, not a session.
    HttpResponse<Buffer> step1 = signIn("ann@example.com", PASSWORD);
    assertEquals(200, step1.statusCode());
    assertEquals(true, step1.bodyAsJsonObject().getBoolean("two_factor_required"));
    assertNull(step1.bodyAsJsonObject().getString("access_token"));
    assertNull(step1.getHeader("set-cookie"));
    String challenge = step1.bodyAsJsonObject().getString("challenge");
    String challengeHash = gw.pool().preparedQuery("SELECT token_hash FROM two_factor_challenges")
        .execute().await().iterator().next().getString(0);
    assertEquals(SecretTokens.hash(challenge), challengeHash, "only the SHA-256 of the challenge is stored");

    HttpResponse<Buffer> bad = verify(challenge, wrongCode(key));
    assertEquals(401, bad.statusCode());
    assertEquals("invalid_code", code(bad));
    assertEquals(401, verify(challenge, totp(key, base - 1)).statusCode(), "the code that confirmed is used up");

    String now = totp(key, base);
    HttpResponse<Buffer> in = verify(challenge, now);
    assertEquals(200, in.statusCode(), in.bodyAsString());
    assertTrue(in.getHeader("set-cookie").startsWith(AccountRoutes.REFRESH_COOKIE + "="));
    assertEquals("ann@example.com", get("/api/me", access(in)).bodyAsJsonObject().getString("email"));
    HttpResponse<Buffer> reused = verify(challenge, totp(key, base + 1));
    assertEquals(401, reused.statusCode());
    assertEquals("invalid_challenge", code(reused), "a challenge is single use");

    String challenge2 = challenge(signIn("ann@example.com", PASSWORD));
    HttpResponse<Buffer> replay = verify(challenge2, now);
    assertEquals(401, replay.statusCode(), "the same step's code is not accepted twice");
    assertEquals("invalid_code", code(replay));

    forgetSignInAttempts();
    String rc = recovery.getString(0);
    assertEquals(200, verify(challenge2, rc).statusCode(), "a recovery code signs in");
    String challenge3 = challenge(signIn("ann@example.com", PASSWORD));
    assertEquals(401, verify(challenge3, rc).statusCode(), "a recovery code works once");
    assertEquals(200, verify(challenge3, " " + recovery.getString(1).toUpperCase(Locale.ROOT).replace("-", " "))
        .statusCode(), "recovery codes are read case- and space-insensitively");

    // Expired challenge.
    String challenge4 = challenge(signIn("ann@example.com", PASSWORD));
    gw.pool().query("UPDATE two_factor_challenges SET expires_at = now() - interval '1 second'").execute().await();
    assertEquals("invalid_challenge", code(verify(challenge4, totp(key, base + 1))));

    // Disable: the password and a code are both needed.
    HttpResponse<Buffer> noPassword = post("/api/auth/2fa/disable", access,
        new JsonObject().put("password", "not the password").put("code", totp(key, base + 1)));
    assertEquals(400, noPassword.statusCode());
    assertEquals("invalid_credentials", code(noPassword));
    HttpResponse<Buffer> noCode = post("/api/auth/2fa/disable", access,
        new JsonObject().put("password", PASSWORD).put("code", wrongCode(key)));
    assertEquals(400, noCode.statusCode());
    assertEquals("invalid_code", code(noCode));
    assertEquals(400, post("/api/auth/2fa/disable", access, new JsonObject().put("password", PASSWORD)).statusCode());
    HttpResponse<Buffer> off = post("/api/auth/2fa/disable", access,
        new JsonObject().put("password", PASSWORD).put("code", totp(key, base + 1)));
    assertEquals(200, off.statusCode(), off.bodyAsString());
    assertEquals(0L, count("SELECT count(*) FROM totp_secrets WHERE user_id = $1", userId));
    assertEquals(0L, count("SELECT count(*) FROM totp_recovery_codes WHERE user_id = $1", userId));
    HttpResponse<Buffer> plain = signIn("ann@example.com", PASSWORD);
    assertNotNull(plain.bodyAsJsonObject().getString("access_token"), "sign-in is one step again");
    assertEquals(409, post("/api/auth/2fa/disable", access,
        new JsonObject().put("password", PASSWORD).put("code", totp(key, base + 1))).statusCode());
  }

  @Test
  @DisplayName("wrong codes count against the sign-in limiter; a challenge takes 5 wrong codes; no 2FA without a "
      + "session")
  void wrongCodesLimited() throws Exception {
    signUpVerified("bo@example.com");
    String access = access(signIn("bo@example.com", PASSWORD)); // attempt 1
    byte[] key = Base32.decode(post("/api/auth/2fa/enroll", access, new JsonObject()).bodyAsJsonObject()
        .getString("secret"));
    assertEquals(200, post("/api/auth/2fa/confirm", access, new JsonObject().put("code", totp(key, base)))
        .statusCode());

    String challenge = challenge(signIn("bo@example.com", PASSWORD)); // attempt 2
    for (int i = 0; i < TwoFactor.CHALLENGE_FAILURES; i++) { // attempts 3-7
      assertEquals("invalid_code", code(verify(challenge, wrongCode(key))));
    }
    assertEquals("invalid_challenge", code(verify(challenge, totp(key, base + 1))),
        "five wrong codes use the challenge up");
    String next = challenge(signIn("bo@example.com", PASSWORD)); // attempt 8
    assertEquals("invalid_code", code(verify(next, wrongCode(key)))); // 9
    assertEquals("invalid_code", code(verify(next, wrongCode(key)))); // 10
    HttpResponse<Buffer> limited = verify(next, totp(key, base + 1));
    assertEquals(429, limited.statusCode(), "even the right code waits once the account's attempts are spent");
    assertEquals("too_many_attempts", code(limited));
    assertNotNull(limited.getHeader("retry-after"));

    assertEquals(401, post("/api/auth/2fa/enroll", null, new JsonObject()).statusCode());
    assertEquals(401, post("/api/auth/2fa/confirm", null, new JsonObject().put("code", "123456")).statusCode());
  }

  /** As if the limiter's window had passed (every sign-in and code counts, and this test makes many). */
  private void forgetSignInAttempts() {
    TestServices.flushRedis(vertx);
  }

  private static String totp(byte[] key, long step) throws Exception {
    return new TimeBasedOneTimePasswordGenerator().generateOneTimePasswordString(new SecretKeySpec(key, "HmacSHA1"),
        Instant.ofEpochSecond(step * STEP_SECONDS));
  }

  /** A 6-digit code that is none of the accepted steps' codes. */
  private String wrongCode(byte[] key) throws Exception {
    for (int candidate = 0; ; candidate++) {
      String c = String.format("%06d", candidate);
      boolean valid = false;
      for (long s = base - 2; s <= base + 2; s++) {
        valid |= totp(key, s).equals(c);
      }
      if (!valid) {
        return c;
      }
    }
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  private long signUpVerified(String email) {
    assertEquals(202, post("/api/auth/signup", null, new JsonObject().put("email", email).put("password", PASSWORD))
        .statusCode());
    return gw.pool().preparedQuery("UPDATE users SET email_verified_at = now() WHERE email = $1 RETURNING id")
        .execute(Tuple.of(email)).await().iterator().next().getLong(0);
  }

  private long count(String sql, long userId) {
    return gw.pool().preparedQuery(sql).execute(Tuple.of(userId)).await().iterator().next().getLong(0);
  }

  private HttpResponse<Buffer> signIn(String email, String password) {
    return post("/api/auth/signin", null, new JsonObject().put("email", email).put("password", password));
  }

  private HttpResponse<Buffer> verify(String challenge, String code) {
    return post("/api/auth/2fa/verify", null, new JsonObject().put("challenge", challenge).put("code", code));
  }

  private HttpResponse<Buffer> post(String path, String accessToken, JsonObject body) {
    HttpRequest<Buffer> r = gw.client().post(path);
    if (accessToken != null) {
      r.bearerTokenAuthentication(accessToken);
    }
    return r.sendJsonObject(body).await();
  }

  private HttpResponse<Buffer> get(String path, String accessToken) {
    return gw.client().get(path).bearerTokenAuthentication(accessToken).send().await();
  }

  private static String access(HttpResponse<Buffer> signedIn) {
    assertEquals(200, signedIn.statusCode(), signedIn.bodyAsString());
    return signedIn.bodyAsJsonObject().getString("access_token");
  }

  private static String challenge(HttpResponse<Buffer> step1) {
    assertEquals(200, step1.statusCode(), step1.bodyAsString());
    assertEquals(true, step1.bodyAsJsonObject().getBoolean("two_factor_required"));
    return step1.bodyAsJsonObject().getString("challenge");
  }

  private static String code(HttpResponse<Buffer> resp) {
    return resp.bodyAsJsonObject().getJsonObject("error").getString("code");
  }
}
