package ai.gpt.api.billing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.limits.RedisScript;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * debit_end_v1.lua against the real Redis: CreditDebits retries an end whose reply it did not get, so running the
 * same end twice (the first ran, its reply was lost) must never apply the amount twice.
 */
@ExtendWith(VertxExtension.class)
class DebitEndTest {
  private static final long ORG = 424_242;
  private static final String HOLD = "debit:api-transfer:1:k";

  private Redis redis;
  private RedisScript end;

  @BeforeEach
  void start(Vertx vertx) {
    TestServices.flushRedis(vertx);
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    end = RedisScript.load(vertx, redis, CreditDebits.END_SCRIPT).await();
  }

  @AfterEach
  void stop() {
    redis.close();
  }

  @Test
  @DisplayName("an end run twice with its hold's generation adjusts once, then drops the balance to be reloaded")
  void repeatedDebitEndNeverDebitsTwice() {
    send(Request.cmd(Command.SET).arg(RedisKeys.balance(ORG)).arg(1_000));
    send(Request.cmd(Command.SET).arg(RedisKeys.balanceGeneration(ORG)).arg(3));
    send(Request.cmd(Command.HSET).arg(RedisKeys.holds(ORG)).arg(HOLD).arg(100).arg("_total").arg(100));
    send(Request.cmd(Command.ZADD).arg(RedisKeys.holdExpiries(ORG)).arg(Long.MAX_VALUE / 2).arg(HOLD));

    assertEquals(1, callEnd(HOLD, -100, "3"));
    assertEquals("900", get(RedisKeys.balance(ORG)));
    assertEquals("0", send(Request.cmd(Command.HGET).arg(RedisKeys.holds(ORG)).arg("_total")).toString());

    // The same end again (a retry after a lost reply): the hold is gone, so the balance is dropped, not 800.
    assertEquals(0, callEnd(HOLD, -100, "3"));
    assertNull(get(RedisKeys.balance(ORG)));
    assertEquals("4", get(RedisKeys.balanceGeneration(ORG)), "a drop bumps the generation so no stale load lands");
  }

  @Test
  @DisplayName("a retried credit end (unknown generation) drops the balance instead of adding the credit again")
  void retriedCreditDrops() {
    send(Request.cmd(Command.SET).arg(RedisKeys.balance(ORG)).arg(1_000));
    send(Request.cmd(Command.SET).arg(RedisKeys.balanceGeneration(ORG)).arg(7));
    assertEquals(1, callEnd("", 500, "7"));
    assertEquals("1500", get(RedisKeys.balance(ORG)));
    assertEquals(0, callEnd("", 500, ""));
    assertNull(get(RedisKeys.balance(ORG)));
  }

  private long callEnd(String hold, long delta, String generation) {
    return end.call(List.of(RedisKeys.balance(ORG), RedisKeys.holds(ORG), RedisKeys.holdExpiries(ORG),
        RedisKeys.balanceGeneration(ORG)), List.of(hold, Long.toString(delta), generation, "60000")).await().toLong();
  }

  private String get(String key) {
    Response r = send(Request.cmd(Command.GET).arg(key));
    return r == null ? null : r.toString();
  }

  private Response send(Request request) {
    return redis.send(request).await();
  }
}
