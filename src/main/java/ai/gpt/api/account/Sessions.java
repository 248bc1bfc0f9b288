package ai.gpt.api.account;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

/**
 * Sign-in sessions and their rotating refresh tokens. Each refresh uses up the presented token and issues the next
 * one; presenting a used token again means it was stolen (or replayed), so the whole session is revoked at once.
 */
public final class Sessions {
  /** A session and the refresh token that continues it. */
  record Issued(long sessionId, long userId, String refreshToken) {}

  /** Why a refresh token was refused. */
  enum Refusal { UNKNOWN, REUSED, ENDED }

  /** Either the next token or the reason for refusing. */
  record Rotation(Issued issued, Refusal refusal) {}

  private final Pool pool;
  private final int ttlDays;

  public Sessions(Pool pool, int ttlDays) {
    this.pool = pool;
    this.ttlDays = ttlDays;
  }

  Future<Issued> create(long userId, String userAgent, String ip) {
    return pool.withTransaction(conn -> conn.preparedQuery("INSERT INTO sessions (user_id, expires_at, user_agent, ip) "
            + "VALUES ($1, now() + $2 * interval '1 day', $3, $4) RETURNING id")
        .execute(Tuple.of(userId, ttlDays, truncate(userAgent), truncate(ip)))
        .compose(rows -> {
          long sessionId = rows.iterator().next().getLong(0);
          String token = SecretTokens.newToken();
          return conn.preparedQuery("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
              .execute(Tuple.of(SecretTokens.hash(token), sessionId))
              .map(v -> new Issued(sessionId, userId, token));
        }));
  }

  Future<Rotation> rotate(String refreshToken) {
    String hash = SecretTokens.hash(refreshToken);
    return pool.withTransaction(conn -> conn.preparedQuery(
            "SELECT t.session_id, t.used_at, s.user_id, s.revoked_at, s.expires_at < now() AS expired "
                + "FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1 FOR UPDATE")
        .execute(Tuple.of(hash))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.succeededFuture(new Rotation(null, Refusal.UNKNOWN));
          }
          Row r = rows.iterator().next();
          long sessionId = r.getLong("session_id");
          if (r.getOffsetDateTime("used_at") != null) {
            return conn.preparedQuery("UPDATE sessions SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1")
                .execute(Tuple.of(sessionId)).map(v -> new Rotation(null, Refusal.REUSED));
          }
          if (r.getOffsetDateTime("revoked_at") != null || r.getBoolean("expired")) {
            return Future.succeededFuture(new Rotation(null, Refusal.ENDED));
          }
          String next = SecretTokens.newToken();
          return conn.preparedQuery("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1")
              .execute(Tuple.of(hash))
              .compose(v -> conn.preparedQuery("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
                  .execute(Tuple.of(SecretTokens.hash(next), sessionId)))
              .map(v -> new Rotation(new Issued(sessionId, r.getLong("user_id"), next), null));
        }));
  }

  /** True while the session exists, belongs to the user, and is neither revoked nor expired. */
  Future<Boolean> active(long sessionId, long userId) {
    return pool.preparedQuery("SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL "
            + "AND expires_at > now()")
        .execute(Tuple.of(sessionId, userId)).map(rows -> rows.size() > 0);
  }

  Future<Void> revoke(long sessionId) {
    return pool.preparedQuery("UPDATE sessions SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1")
        .execute(Tuple.of(sessionId)).mapEmpty();
  }

  /** Ends every session of the user except {@code keep} (-1: all of them), e.g. after a password change. */
  Future<Void> revokeAll(long userId, long keep) {
    return pool.preparedQuery("UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND id <> $2 "
            + "AND revoked_at IS NULL")
        .execute(Tuple.of(userId, keep)).mapEmpty();
  }

  private static String truncate(String s) {
    return s == null ? "" : s.length() > 300 ? s.substring(0, 300) : s;
  }
}
