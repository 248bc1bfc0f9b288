package ai.gpt.api.account;

import com.password4j.Argon2Function;
import com.password4j.Password;
import com.password4j.types.Argon2;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.concurrent.atomic.LongAdder;

/**
 * Argon2id password hashes (PHC strings), computed on worker threads: one hash takes tens of milliseconds of CPU
 * by design, which must never run on an event loop.
 */
public final class PasswordHasher {
  /** OWASP's minimum for Argon2id: 19 MiB, 2 iterations, 1 lane. */
  private static final Argon2Function ARGON2 = Argon2Function.getInstance(19_456, 2, 1, 32, Argon2.ID);
  static final int MIN_LENGTH = 8;
  static final int MAX_LENGTH = 256;
  /** Hashes computed so far (checks and new hashes): lets tests see that refused requests cost none. */
  static final LongAdder HASHES = new LongAdder();

  private final Vertx vertx;

  public PasswordHasher(Vertx vertx) {
    this.vertx = vertx;
  }

  public Future<String> hash(String password) {
    HASHES.increment();
    return vertx.executeBlocking(() -> Password.hash(password).addRandomSalt(16).with(ARGON2).getResult(), false);
  }

  /** False for a null hash (an account without a password), so callers need no special case. */
  public Future<Boolean> verify(String password, String hash) {
    if (hash == null) {
      // Spend the same time as a real check, so response times do not tell which accounts exist.
      return hash(password).map(ignored -> false);
    }
    HASHES.increment();
    return vertx.executeBlocking(() -> Password.check(password, hash).with(ARGON2), false);
  }
}
