package ai.gpt.api.account;

import ai.gpt.api.limits.RedisScript;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import java.util.List;
import java.util.Locale;

/**
 * Sign-in attempts per account and per client address, counted in Redis ({@code lua/attempts_v1.lua}) so every
 * replica sees the same counts. Password guessing against one account, or from one address against many, is
 * refused with 429 until the window ends.
 */
public final class SignInLimiter {
  static final String SCRIPT = "lua/attempts_v1.lua";
  static final long WINDOW_MS = 15 * 60_000L;
  static final int PER_ACCOUNT = 10;
  static final int PER_ADDRESS = 50;

  private final RedisScript script;

  private SignInLimiter(RedisScript script) {
    this.script = script;
  }

  public static Future<SignInLimiter> create(Vertx vertx, Redis redis) {
    return RedisScript.load(vertx, redis, SCRIPT).map(SignInLimiter::new);
  }

  /** Counts the attempt; the future holds 0 when it may proceed, else the milliseconds to wait. */
  public Future<Long> attempt(String email, String address) {
    // The e-mail is hashed so Redis never holds addresses in clear text.
    List<String> keys = List.of("gptapi:signin:acct:" + SecretTokens.hash(email.toLowerCase(Locale.ROOT)),
        "gptapi:signin:ip:" + address);
    return script.call(keys, List.of(Long.toString(WINDOW_MS), Integer.toString(PER_ACCOUNT),
        Integer.toString(PER_ADDRESS))).map(r -> r.get(0).toInteger() == 1 ? 0L : Math.max(1, r.get(1).toLong()));
  }
}
