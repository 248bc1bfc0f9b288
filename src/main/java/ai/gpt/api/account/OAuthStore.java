package ai.gpt.api.account;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/** Accounts linked to OAuth providers (table oauth_identities), and the accounts OAuth sign-in creates. */
public final class OAuthStore {
  /** Why an OAuth identity was not let in. */
  enum Refusal { EMAIL_MISSING, EMAIL_NOT_VERIFIED, CONFLICT }

  /** The account to sign in to, or the refusal. */
  record Outcome(Long userId, Refusal refusal) {}

  /** What the provider says about the user. */
  record Identity(String provider, String subject, String email, boolean emailVerified, String name) {}

  private final Pool pool;

  public OAuthStore(Pool pool) {
    this.pool = pool;
  }

  /**
   * The account of an identity: the one it is linked to; else the account with its e-mail, linked now, only if the
   * provider verified the address; else a new verified account with a personal organization. Linking an account
   * whose address was never verified verifies it and drops its password: whoever chose that password never proved
   * the address is theirs.
   */
  Future<Outcome> signIn(Identity id) {
    return pool.withTransaction(conn -> conn.preparedQuery(
            "SELECT user_id FROM oauth_identities WHERE provider = $1 AND subject = $2")
        .execute(Tuple.of(id.provider(), id.subject()))
        .compose(linked -> {
          if (linked.size() > 0) {
            return Future.succeededFuture(new Outcome(linked.iterator().next().getLong(0), null));
          }
          if (id.email() == null) {
            return Future.succeededFuture(new Outcome(null, Refusal.EMAIL_MISSING));
          }
          if (!id.emailVerified()) {
            return Future.succeededFuture(new Outcome(null, Refusal.EMAIL_NOT_VERIFIED));
          }
          return conn.preparedQuery("UPDATE users SET password_hash = CASE WHEN email_verified_at IS NULL THEN NULL "
                  + "ELSE password_hash END, email_verified_at = COALESCE(email_verified_at, now()), updated_at = now() "
                  + "WHERE email = $1 RETURNING id")
              .execute(Tuple.of(id.email()))
              .compose(existing -> existing.size() > 0
                  ? Future.succeededFuture(existing.iterator().next().getLong(0))
                  : AccountStore.createUser(conn, id.email(), id.name() == null ? "" : id.name(), null, true))
              .compose(userId -> userId == null
                  ? Future.succeededFuture(new Outcome(null, Refusal.CONFLICT))
                  : conn.preparedQuery("INSERT INTO oauth_identities (provider, subject, user_id, email) "
                          + "VALUES ($1, $2, $3, $4) ON CONFLICT (provider, subject) DO NOTHING")
                      .execute(Tuple.of(id.provider(), id.subject(), userId, id.email()))
                      .map(v -> new Outcome(userId, null)));
        }));
  }
}
