package ai.gpt.api.account;

import com.eatthepath.otp.TimeBasedOneTimePasswordGenerator;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.crypto.spec.SecretKeySpec;

/**
 * Two-factor authentication with TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps), recovery codes, and the
 * sign-in challenges that sit between a correct password and a session.
 *
 * <p>Keys are stored AES-256-GCM encrypted ({@link SecretBox}). A code is accepted for the current step and one
 * step either side (clock skew), and only for a step newer than the last one accepted, so a code observed once
 * cannot be replayed. Everything here is a few microseconds of CPU (one AES-GCM decryption, at most three HMACs),
 * so it runs on the event loop; the database does the rest.
 */
public final class TwoFactor {
  static final String ISSUER = "GPT API";
  static final Duration STEP = Duration.ofSeconds(30);
  static final int DIGITS = 6;
  static final int SKEW_STEPS = 1;
  static final int KEY_BYTES = 20;
  static final Duration CHALLENGE_TTL = Duration.ofMinutes(5);
  /** Wrong codes one challenge takes before it is used up (the sign-in limiter also counts every one). */
  static final int CHALLENGE_FAILURES = 5;
  static final int RECOVERY_CODES = 10;
  private static final String RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
  private static final int RECOVERY_LENGTH = 12;
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A new, still unconfirmed key: base32 for typing in, and the otpauth URI for a QR code. */
  record Enrollment(String secret, String otpauthUri) {}

  /** A pending sign-in challenge's user. */
  record Pending(long userId, String email) {}

  enum Verdict { OK, WRONG_CODE, INVALID_CHALLENGE }

  /** Why a confirmation or a disable could not go ahead. */
  enum State { NOT_ENROLLED, ENABLED }

  private final Pool pool;
  private final SecretBox box;
  private final Clock clock;

  public TwoFactor(Pool pool, SecretBox box) {
    this(pool, box, Clock.systemUTC());
  }

  TwoFactor(Pool pool, SecretBox box, Clock clock) {
    this.pool = pool;
    this.box = box;
    this.clock = clock;
  }

  /** True once the user confirmed an authenticator (sign-in then needs a code). */
  Future<Boolean> enabled(long userId) {
    return pool.preparedQuery("SELECT 1 FROM totp_secrets WHERE user_id = $1 AND confirmed_at IS NOT NULL")
        .execute(Tuple.of(userId)).map(rows -> rows.size() > 0);
  }

  /** A new pending key, replacing a pending one; null when 2FA is already enabled (nothing changes). */
  Future<Enrollment> enroll(long userId, String email) {
    byte[] key = new byte[KEY_BYTES];
    RANDOM.nextBytes(key);
    return pool.preparedQuery("INSERT INTO totp_secrets (user_id, secret_enc) VALUES ($1, $2) "
            + "ON CONFLICT (user_id) DO UPDATE SET secret_enc = EXCLUDED.secret_enc, created_at = now(), "
            + "last_step = NULL WHERE totp_secrets.confirmed_at IS NULL RETURNING user_id")
        .execute(Tuple.of(userId, Buffer.buffer(box.encrypt(key, aad(userId)))))
        .map(rows -> {
          if (rows.size() == 0) {
            return null;
          }
          String secret = Base32.encode(key);
          String label = uriEncode(ISSUER) + ":" + uriEncode(email);
          return new Enrollment(secret, "otpauth://totp/" + label + "?secret=" + secret + "&issuer="
              + uriEncode(ISSUER) + "&algorithm=SHA1&digits=" + DIGITS + "&period=" + STEP.toSeconds());
        });
  }

  /**
   * Enables 2FA when the code matches the pending key: returns the new recovery codes (replacing any old ones),
   * an empty list for a wrong code, or fails with the {@link State} that prevents it.
   */
  Future<List<String>> confirm(long userId, String code) {
    return pool.withTransaction(conn -> conn.preparedQuery(
            "SELECT secret_enc, confirmed_at, last_step FROM totp_secrets WHERE user_id = $1 FOR UPDATE")
        .execute(Tuple.of(userId))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(new StateException(State.NOT_ENROLLED));
          }
          Row r = rows.iterator().next();
          if (r.getOffsetDateTime("confirmed_at") != null) {
            return Future.failedFuture(new StateException(State.ENABLED));
          }
          long step = matchingStep(userId, r, normalize(code));
          if (step < 0) {
            return Future.succeededFuture(List.<String>of());
          }
          List<String> codes = new ArrayList<>();
          List<Tuple> batch = new ArrayList<>();
          for (int i = 0; i < RECOVERY_CODES; i++) {
            String c = newRecoveryCode();
            codes.add(c);
            batch.add(Tuple.of(userId, recoveryHash(userId, normalize(c))));
          }
          return conn.preparedQuery("UPDATE totp_secrets SET confirmed_at = now(), last_step = $2 WHERE user_id = $1")
              .execute(Tuple.of(userId, step))
              .compose(v -> conn.preparedQuery("DELETE FROM totp_recovery_codes WHERE user_id = $1")
                  .execute(Tuple.of(userId)))
              .compose(v -> conn.preparedQuery("INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                  .executeBatch(batch))
              .map(v -> codes);
        }));
  }

  /** Disables 2FA if the code (TOTP or recovery) is right: false for a wrong code; fails unless 2FA is enabled. */
  Future<Boolean> disable(long userId, String code) {
    return pool.withTransaction(conn -> useCode(conn, userId, code).compose(ok -> !ok ? Future.succeededFuture(false)
        : conn.preparedQuery("DELETE FROM totp_recovery_codes WHERE user_id = $1").execute(Tuple.of(userId))
            .compose(v -> conn.preparedQuery("DELETE FROM two_factor_challenges WHERE user_id = $1")
                .execute(Tuple.of(userId)))
            .compose(v -> conn.preparedQuery("DELETE FROM totp_secrets WHERE user_id = $1").execute(Tuple.of(userId)))
            .map(true)));
  }

  /** A new sign-in challenge for a user whose password was right; returns the raw token (only its hash is kept). */
  Future<String> newChallenge(long userId) {
    String token = SecretTokens.newToken();
    return pool.preparedQuery("DELETE FROM two_factor_challenges WHERE user_id = $1 AND expires_at < now()")
        .execute(Tuple.of(userId))
        .compose(v -> pool.preparedQuery("INSERT INTO two_factor_challenges (token_hash, user_id, expires_at) "
                + "VALUES ($1, $2, now() + $3 * interval '1 second')")
            .execute(Tuple.of(SecretTokens.hash(token), userId, CHALLENGE_TTL.toSeconds())))
        .map(token);
  }

  /** The user of a usable challenge, or null (unknown, expired or used). */
  Future<Pending> pending(String token) {
    return pool.preparedQuery("SELECT c.user_id, u.email FROM two_factor_challenges c JOIN users u ON u.id = c.user_id "
            + "WHERE c.token_hash = $1 AND c.used_at IS NULL AND c.expires_at > now()")
        .execute(Tuple.of(SecretTokens.hash(token)))
        .map(rows -> {
          if (rows.size() == 0) {
            return null;
          }
          Row r = rows.iterator().next();
          return new Pending(r.getLong("user_id"), r.getString("email"));
        });
  }

  /**
   * Checks the code against the challenge's user. Right: the challenge and the code are used up. Wrong: counted
   * on the challenge, which is used up after {@link #CHALLENGE_FAILURES} wrong codes.
   */
  Future<Verdict> verify(String token, String code) {
    String hash = SecretTokens.hash(token);
    return pool.withTransaction(conn -> conn.preparedQuery("SELECT user_id FROM two_factor_challenges "
            + "WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() FOR UPDATE")
        .execute(Tuple.of(hash))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(Verdict.INVALID_CHALLENGE);
          }
          long userId = rows.iterator().next().getLong(0);
          return useCode(conn, userId, code).recover(err -> err instanceof StateException
                  ? Future.succeededFuture(false) : Future.failedFuture(err))
              .compose(ok -> ok
                  ? conn.preparedQuery("UPDATE two_factor_challenges SET used_at = now() WHERE token_hash = $1")
                      .execute(Tuple.of(hash)).map(Verdict.OK)
                  : conn.preparedQuery("UPDATE two_factor_challenges SET failures = failures + 1, used_at = CASE "
                          + "WHEN failures + 1 >= $2 THEN now() END WHERE token_hash = $1")
                      .execute(Tuple.of(hash, CHALLENGE_FAILURES)).map(Verdict.WRONG_CODE));
        }));
  }

  /**
   * Uses up a TOTP code (its step, so it cannot be replayed) or a recovery code, inside the caller's transaction.
   * False for a wrong, replayed or used code; fails with {@link State#NOT_ENROLLED} unless 2FA is enabled.
   */
  private Future<Boolean> useCode(SqlConnection conn, long userId, String code) {
    return conn.preparedQuery("SELECT secret_enc, confirmed_at, last_step FROM totp_secrets "
            + "WHERE user_id = $1 FOR UPDATE")
        .execute(Tuple.of(userId))
        .compose(rows -> {
          if (rows.size() == 0 || rows.iterator().next().getOffsetDateTime("confirmed_at") == null) {
            return Future.failedFuture(new StateException(State.NOT_ENROLLED));
          }
          String c = normalize(code);
          if (c.length() == RECOVERY_LENGTH) {
            return conn.preparedQuery("UPDATE totp_recovery_codes SET used_at = now() "
                    + "WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING 1")
                .execute(Tuple.of(userId, recoveryHash(userId, c))).map(r -> r.size() > 0);
          }
          long step = matchingStep(userId, rows.iterator().next(), c);
          if (step < 0) {
            return Future.succeededFuture(false);
          }
          return conn.preparedQuery("UPDATE totp_secrets SET last_step = $2 WHERE user_id = $1")
              .execute(Tuple.of(userId, step)).map(true);
        });
  }

  /**
   * The step (current, or one either side) whose code this is and which is newer than the last step accepted;
   * -1 if none. Every candidate is compared, in constant time, so timing tells nothing about near misses.
   */
  private long matchingStep(long userId, Row secretRow, String code) {
    if (code.length() != DIGITS || !code.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
      return -1;
    }
    Long last = secretRow.getLong("last_step");
    byte[] key = box.decrypt(secretRow.getBuffer("secret_enc").getBytes(), aad(userId));
    long now = Math.floorDiv(clock.instant().getEpochSecond(), STEP.toSeconds());
    long found = -1;
    for (long step = now - SKEW_STEPS; step <= now + SKEW_STEPS; step++) {
      boolean same = MessageDigest.isEqual(code(key, step).getBytes(StandardCharsets.US_ASCII),
          code.getBytes(StandardCharsets.US_ASCII));
      if (same && (last == null || step > last) && found < 0) {
        found = step;
      }
    }
    return found;
  }

  /** The TOTP code of one time step, zero-padded. */
  static String code(byte[] key, long step) {
    try {
      return new TimeBasedOneTimePasswordGenerator(STEP, DIGITS, TimeBasedOneTimePasswordGenerator
          .TOTP_ALGORITHM_HMAC_SHA1).generateOneTimePasswordString(new SecretKeySpec(key, "HmacSHA1"),
              Instant.ofEpochSecond(step * STEP.toSeconds()), Locale.ROOT);
    } catch (InvalidKeyException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Recovery codes have 60 random bits, not the 256 of our tokens, so a plain SHA-256 of them would be a (slow)
   * target for brute force from a database dump alone. They are stored as HMAC-SHA256 under a key derived from
   * SECRETS_KEY instead: without that key a dump is useless, online guessing is held back by the sign-in limiter,
   * and the lookup stays one indexed query on the event loop (a salted slow hash would cost up to ten Argon2 runs
   * per attempt on the worker pool). The user id is mixed in so equal codes of two users do not share a hash.
   */
  private String recoveryHash(long userId, String normalizedCode) {
    return box.mac("recovery:" + userId + ":" + normalizedCode);
  }

  private static String newRecoveryCode() {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < RECOVERY_LENGTH; i++) {
      if (i > 0 && i % 4 == 0) {
        s.append('-');
      }
      s.append(RECOVERY_ALPHABET.charAt(RANDOM.nextInt(RECOVERY_ALPHABET.length())));
    }
    return s.toString();
  }

  /** Codes as people type them: spaces and dashes dropped, case ignored. */
  static String normalize(String code) {
    return code.replaceAll("[\\s-]", "").toLowerCase(Locale.ROOT);
  }

  private static String aad(long userId) {
    return "totp:" + userId;
  }

  /** Percent-encodes all but RFC 3986 unreserved characters and '@' (as authenticator apps expect labels). */
  static String uriEncode(String s) {
    StringBuilder out = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~@".indexOf(c) >= 0) {
        out.append(c);
      } else {
        out.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return out.toString();
  }

  /** 2FA is not in the state an operation needs. */
  static final class StateException extends RuntimeException {
    final State state;

    StateException(State state) {
      super(state.name(), null, false, false);
      this.state = state;
    }
  }
}
