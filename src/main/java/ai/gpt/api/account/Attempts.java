package ai.gpt.api.account;

import ai.gpt.api.limits.RedisScript;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Fixed-window counters in Redis ({@code lua/attempts_v1.lua}), so every replica sees the same counts: the
 * sign-in limits and the limits on routes that send e-mail. One call counts one attempt against several
 * counters at once; a refused attempt is counted too, so hammering keeps the window closed.
 */
public final class Attempts {
  static final String SCRIPT = "lua/attempts_v1.lua";

  /**
   * Every counter's key starts with this. One call counts several counters atomically (one script), and Redis
   * Cluster runs a script only on keys of one slot, so every counter carries the same hash tag: they all live in
   * one slot, which their rate (sign-ins, e-mails, contact messages) easily allows.
   */
  static final String PREFIX = "gptapi:{attempts}:";

  /**
   * One counter and its limit per window.
   *
   * @param subject what is counted, e.g. {@code signin:ip:<address>}; the Redis key is {@link #PREFIX} + subject
   */
  public record Counter(String subject, int limit) {
    String key() {
      return PREFIX + subject;
    }
  }

  private final RedisScript script;

  private Attempts(RedisScript script) {
    this.script = script;
  }

  public static Future<Attempts> load(Vertx vertx, Redis redis) {
    return RedisScript.load(vertx, redis, SCRIPT).map(Attempts::new);
  }

  /** Counts one attempt on each counter; the future holds 0 when all are within their limits, else ms to wait. */
  public Future<Long> count(long windowMs, Counter... counters) {
    List<String> keys = new ArrayList<>();
    List<String> args = new ArrayList<>();
    args.add(Long.toString(windowMs));
    for (Counter c : counters) {
      keys.add(c.key());
      args.add(Integer.toString(c.limit()));
    }
    return script.call(keys, args).map(r -> r.get(0).toInteger() == 1 ? 0L : Math.max(1, r.get(1).toLong()));
  }

  /** The counter key part for an e-mail address: hashed, so Redis never holds addresses in clear text. */
  public static String emailKey(String email) {
    return SecretTokens.hash(email.toLowerCase(Locale.ROOT));
  }
}
