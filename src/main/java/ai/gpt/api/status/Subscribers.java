package ai.gpt.api.status;

import ai.gpt.api.account.SecretBox;
import ai.gpt.api.account.SecretTokens;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The status page's e-mail subscribers, double opt-in. The confirmation token (24 h) is random and stored as
 * SHA-256 only, like the account e-mail tokens. The unsubscribe token is never stored: it is {@code <id>-<HMAC of
 * the id>} under a key derived from SECRETS_KEY, so every announcement can carry one and nothing in the database
 * lets anyone unsubscribe somebody else.
 */
public final class Subscribers {
  private static final String SUBSCRIBE = "INSERT INTO status_subscribers (email, confirm_token_hash,"
      + " confirm_expires_at) VALUES ($1, $2, now() + interval '24 hours') ON CONFLICT (email) DO UPDATE"
      + " SET confirm_token_hash = EXCLUDED.confirm_token_hash, confirm_expires_at = EXCLUDED.confirm_expires_at"
      + " WHERE status_subscribers.confirmed_at IS NULL RETURNING id";
  private static final String CONFIRM = "UPDATE status_subscribers SET confirmed_at = now(),"
      + " confirm_token_hash = NULL, confirm_expires_at = NULL WHERE confirm_token_hash = $1"
      + " AND confirm_expires_at > now() RETURNING id";
  private static final String DELETE = "DELETE FROM status_subscribers WHERE id = $1";
  private static final String CONFIRMED = "SELECT id, email FROM status_subscribers WHERE confirmed_at IS NOT NULL"
      + " AND id > $1 ORDER BY id LIMIT $2";

  /** A confirmed subscriber to mail. */
  public record Subscriber(long id, String email) {}

  private final Pool pool;
  private final SecretBox box;

  public Subscribers(Pool pool, SecretBox box) {
    this.pool = pool;
    this.box = box;
  }

  /** A new confirmation token for the address, or null if it is confirmed already (then nothing is sent). */
  public Future<String> subscribe(String email) {
    String token = SecretTokens.newToken();
    return pool.preparedQuery(SUBSCRIBE).execute(Tuple.of(email, SecretTokens.hash(token)))
        .map(rows -> rows.size() == 0 ? null : token);
  }

  /** True when the token confirmed a subscription (once, within 24 h). */
  public Future<Boolean> confirm(String token) {
    return pool.preparedQuery(CONFIRM).execute(Tuple.of(SecretTokens.hash(token))).map(rows -> rows.size() == 1);
  }

  /**
   * Deletes the subscriber the token names; true for any authentic token, so a second click answers the same.
   * False for a token we did not issue.
   */
  public Future<Boolean> unsubscribe(String token) {
    Long id = subscriberOf(token);
    if (id == null) {
      return Future.succeededFuture(false);
    }
    return pool.preparedQuery(DELETE).execute(Tuple.of(id)).map(true);
  }

  /** The next confirmed subscribers after {@code afterId}, for mailing in pages. */
  Future<List<Subscriber>> confirmed(long afterId, int limit) {
    return pool.preparedQuery(CONFIRMED).execute(Tuple.of(afterId, limit)).map(rows -> {
      List<Subscriber> out = new ArrayList<>();
      for (Row r : rows) {
        out.add(new Subscriber(r.getLong("id"), r.getString("email")));
      }
      return out;
    });
  }

  String unsubscribeToken(long id) {
    return id + "-" + box.mac("status-unsubscribe:" + id);
  }

  private Long subscriberOf(String token) {
    int dash = token.indexOf('-');
    if (dash <= 0 || dash > 19) {
      return null;
    }
    long id;
    try {
      id = Long.parseLong(token.substring(0, dash));
    } catch (NumberFormatException e) {
      return null;
    }
    byte[] expected = unsubscribeToken(id).getBytes(StandardCharsets.UTF_8);
    // Constant time: the comparison must not tell how much of a guessed MAC was right.
    return MessageDigest.isEqual(expected, token.getBytes(StandardCharsets.UTF_8)) ? id : null;
  }
}
