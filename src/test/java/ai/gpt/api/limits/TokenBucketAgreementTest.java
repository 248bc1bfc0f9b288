package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The token bucket is defined once per language: {@link TokenBucket} (used by the fail-open limiter and the limits
 * report) and {@code lua/token_bucket.lua} (used by the scripts). Both run here on the same inputs, the Lua one by
 * EVAL on the real Redis, and must give identical results, to the last bit of the level.
 */
class TokenBucketAgreementTest {
  private static final long NOW = 1_796_000_000_000L;

  private record Case(String v, String t, long cap, long windowMs, long now, long amount) {}

  @Test
  @DisplayName("Java and Lua agree on level, remaining, time until full and time until available")
  void javaAndLuaAgree() throws Exception {
    List<Case> cases = new ArrayList<>(List.of(
        new Case(null, null, 600, 60_000, NOW, 1),                          // nothing stored: full
        new Case("0", Long.toString(NOW), 600, 60_000, NOW, 1),             // zero elapsed, empty
        new Case("0", Long.toString(NOW - 100), 600, 60_000, NOW, 1),       // 100 ms: exactly 1 refilled
        new Case("0", Long.toString(NOW - 99), 600, 60_000, NOW, 1),        // just short of 1
        new Case("0.3333333333333333", Long.toString(NOW - 7), 7, 60_000, NOW, 1), // fractional refill
        new Case("599.5", Long.toString(NOW - 1_000_000), 600, 60_000, NOW, 1), // huge elapsed: capped
        new Case("599.5", Long.toString(NOW - Long.MAX_VALUE / 4), 600, 60_000, NOW, 1), // absurd elapsed
        new Case("600", Long.toString(NOW), 600, 60_000, NOW, 601),         // more than the capacity: never
        new Case("-16700.25", Long.toString(NOW - 3), 10_000, 60_000, NOW, 100), // negative (excess taken)
        new Case("5", Long.toString(NOW + 5_000), 10, 1_000, NOW, 6),       // stored time in the future
        new Case("5", null, 10, 1_000, NOW, 6),                             // level without a time
        new Case("0.9999999995", Long.toString(NOW), 10, 1_000, NOW, 1),    // within EPS of 1
        new Case("1.5e-10", Long.toString(NOW), 400_000_000_000L, 86_400_000, NOW, 1_000_000), // huge capacity
        new Case("39999999999.999", Long.toString(NOW - 1), 40_000_000_000L, 3_600_000, NOW, 5)));
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    for (int i = 0; i < 200; i++) {
      long cap = 1 + rnd.nextLong(rnd.nextBoolean() ? 1_000 : 1_000_000_000L);
      long window = new long[] {60_000, 3_600_000, 86_400_000, 200}[rnd.nextInt(4)];
      double v = rnd.nextDouble(-cap, cap);
      long t = NOW - rnd.nextLong(2 * window) + (rnd.nextInt(10) == 0 ? rnd.nextLong(10_000) : 0);
      cases.add(new Case(Double.toString(v), Long.toString(t), cap, window, NOW, rnd.nextLong(1, cap + 2)));
    }

    Vertx vertx = Vertx.vertx();
    Redis redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    try {
      Request eval = Request.cmd(Command.EVAL).arg(RedisScript.compose("lua/token_bucket_probe.lua")).arg(0);
      for (Case c : cases) {
        eval.arg(c.v() == null ? "" : c.v()).arg(c.t() == null ? "" : c.t()).arg(c.cap()).arg(c.windowMs())
            .arg(c.now()).arg(c.amount());
      }
      Response lua = redis.send(eval).await();
      assertEquals(cases.size(), lua.size());
      for (int i = 0; i < cases.size(); i++) {
        Case c = cases.get(i);
        double level = TokenBucket.level(c.v() == null ? null : Double.valueOf(c.v()),
            c.t() == null ? null : Long.valueOf(c.t()), c.cap(), c.windowMs(), c.now());
        Response l = lua.get(i);
        String what = c.toString();
        assertEquals(level, Double.parseDouble(l.get(0).toString()), 0.0, "level " + what);
        assertEquals(TokenBucket.remaining(level), l.get(1).toLong(), "remaining " + what);
        assertEquals(TokenBucket.msUntilFull(level, c.cap(), c.windowMs()), l.get(2).toLong(), "until full " + what);
        assertEquals(TokenBucket.msUntilAvailable(level, c.amount(), c.cap(), c.windowMs()), l.get(3).toLong(),
            "until available " + what);
      }
    } finally {
      redis.close();
      vertx.close().await();
    }
  }
}
