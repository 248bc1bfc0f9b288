package ai.gpt.api.account;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;

/** Users, their personal organization and their e-mailed tokens in PostgreSQL. */
public final class AccountStore {
  static final Duration VERIFY_TTL = Duration.ofHours(24);
  static final Duration RESET_TTL = Duration.ofHours(1);

  /** A user with the hash needed to check a password. */
  record Credentials(Account account, String passwordHash) {}

  private final Pool pool;

  public AccountStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * Creates the user, a personal organization they own, and a verification token, in one transaction.
   * Returns the raw verification token, or null when the e-mail is already registered (nothing is changed).
   */
  Future<String> signUp(String email, String name, String passwordHash) {
    return pool.withTransaction(conn -> createUser(conn, email, name, passwordHash, false)
        .compose(userId -> userId == null ? Future.succeededFuture(null)
            : insertToken(conn, userId, "verify", VERIFY_TTL)));
  }

  /**
   * Inserts the user (verified or not; passwordHash null for an OAuth-only account) and their personal
   * organization; returns the user's id, or null when the e-mail is already registered (nothing is changed).
   */
  static Future<Long> createUser(SqlConnection conn, String email, String name, String passwordHash,
      boolean verified) {
    return conn.preparedQuery("INSERT INTO users (email, name, password_hash, email_verified_at) "
            + "VALUES ($1, $2, $3, CASE WHEN $4 THEN now() END) ON CONFLICT (email) DO NOTHING RETURNING id")
        .execute(Tuple.of(email, name, passwordHash, verified))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(null);
          }
          long userId = rows.iterator().next().getLong(0);
          return personalOrganization(conn, userId, email).map(userId);
        });
  }

  /** Organization names are unique; the e-mail is, unless an operator took it already. */
  private static Future<Long> personalOrganization(SqlConnection conn, long userId, String email) {
    return conn.preparedQuery("INSERT INTO organizations (name) VALUES (CASE WHEN EXISTS "
            + "(SELECT 1 FROM organizations WHERE name = $1) THEN $1 || '-' || $2 ELSE $1 END) RETURNING id")
        .execute(Tuple.of(email, Long.toString(userId)))
        .map(rows -> rows.iterator().next().getLong(0))
        .compose(orgId -> conn.preparedQuery(
                "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')")
            .execute(Tuple.of(orgId, userId)).map(orgId));
  }

  Future<String> newResetToken(long userId) {
    return pool.withConnection(conn -> insertToken(conn, userId, "reset", RESET_TTL));
  }

  private static Future<String> insertToken(SqlConnection conn, long userId, String purpose, Duration ttl) {
    String token = SecretTokens.newToken();
    return conn.preparedQuery("INSERT INTO email_tokens (token_hash, user_id, purpose, expires_at) "
            + "VALUES ($1, $2, $3, now() + $4 * interval '1 second')")
        .execute(Tuple.of(SecretTokens.hash(token), userId, purpose, ttl.toSeconds()))
        .map(token);
  }

  /** Marks a valid, unused, unexpired token used; returns its user, or null when the token is not all that. */
  Future<Long> useToken(String token, String purpose) {
    return pool.preparedQuery("UPDATE email_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = $2 "
            + "AND used_at IS NULL AND expires_at > now() RETURNING user_id")
        .execute(Tuple.of(SecretTokens.hash(token), purpose))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getLong(0));
  }

  /** Uses up every pending link of this purpose of the user (a password set by any means ends the others). */
  Future<Void> dropTokens(long userId, String purpose) {
    return pool.preparedQuery("UPDATE email_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 "
            + "AND used_at IS NULL")
        .execute(Tuple.of(userId, purpose)).mapEmpty();
  }

  Future<Void> markVerified(long userId) {
    return pool.preparedQuery("UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()), "
            + "updated_at = now() WHERE id = $1")
        .execute(Tuple.of(userId)).mapEmpty();
  }

  Future<Void> setPassword(long userId, String passwordHash) {
    return pool.preparedQuery("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .execute(Tuple.of(userId, passwordHash)).mapEmpty();
  }

  Future<Credentials> byEmail(String email) {
    return pool.preparedQuery("SELECT " + Account.COLUMNS + ", password_hash FROM users WHERE email = $1")
        .execute(Tuple.of(email)).map(AccountStore::credentials);
  }

  Future<Credentials> byId(long userId) {
    return pool.preparedQuery("SELECT " + Account.COLUMNS + ", password_hash FROM users WHERE id = $1")
        .execute(Tuple.of(userId)).map(AccountStore::credentials);
  }

  private static Credentials credentials(RowSet<Row> rows) {
    if (rows.size() == 0) {
      return null;
    }
    Row r = rows.iterator().next();
    return new Credentials(Account.from(r), r.getString("password_hash"));
  }

  /** The user's organizations with their role, oldest membership first. */
  Future<JsonArray> organizations(long userId) {
    return pool.preparedQuery("SELECT o.id, o.name, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id "
            + "WHERE m.user_id = $1 ORDER BY m.created_at, o.id")
        .execute(Tuple.of(userId))
        .map(rows -> {
          JsonArray out = new JsonArray();
          for (Row r : rows) {
            out.add(new JsonObject().put("id", r.getLong("id")).put("name", r.getString("name"))
                .put("role", r.getString("role")));
          }
          return out;
        });
  }
}
