package ai.gpt.api.account;

import ai.gpt.api.auth.ClientAddress;
import io.vertx.core.Future;

/**
 * Sign-in attempts per account and per client address ({@link Attempts}). Password guessing against one account,
 * or from one address against many, is refused with 429 until the window ends.
 */
public final class SignInLimiter {
  static final long WINDOW_MS = 15 * 60_000L;
  static final int PER_ACCOUNT = 10;
  static final int PER_ADDRESS = 50;

  private final Attempts attempts;

  public SignInLimiter(Attempts attempts) {
    this.attempts = attempts;
  }

  /** Counts the attempt; the future holds 0 when it may proceed, else the milliseconds to wait. */
  public Future<Long> attempt(String email, String address) {
    return attempts.count(WINDOW_MS,
        new Attempts.Counter("signin:acct:" + Attempts.emailKey(email), PER_ACCOUNT),
        new Attempts.Counter("signin:ip:" + ClientAddress.limitKey(address), PER_ADDRESS));
  }
}
