package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.gpt.api.db.Database;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.usage.DirectUsageWriter;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class HotBalancesTest {
  private LimiterFixture f;
  private Pool pool;

  @AfterEach
  void stop() {
    f.close();
    pool.close().await();
  }

  private void start(Vertx vertx) {
    TestServices.ensureDatabase();
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 2);
    pool.query("DELETE FROM hot_balance_stale").execute().await();
  }

  private long createOrg() {
    return pool.preparedQuery("INSERT INTO organizations (name) VALUES ($1) RETURNING id")
        .execute(Tuple.of("hot-" + UUID.randomUUID())).await().iterator().next().getLong("id");
  }

  private void setBalance(long org, long micros) {
    f.redis.send(Request.cmd(Command.SET).arg(RedisKeys.balance(org)).arg(micros)).await();
  }

  private String balance(long org) {
    var r = f.redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(org))).await();
    return r == null ? null : r.toString();
  }

  private long marks(long org) {
    return pool.preparedQuery("SELECT count(*) FROM hot_balance_stale WHERE org_id = $1").execute(Tuple.of(org))
        .await().iterator().next().getLong(0);
  }

  @Test
  @DisplayName("reconciliation at start drops only the hot balances of organizations marked stale, then the marks")
  void dropsMarkedBalancesOnly(Vertx vertx) {
    start(vertx);
    long credited = createOrg();
    long used = createOrg();
    long direct = createOrg();
    try {
      // A credit (any ledger row that did not go through Redis first) marks its organization...
      pool.preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, idempotency_key)"
          + " VALUES ($1, 500, 'credit', $2)").execute(Tuple.of(credited, "c-" + UUID.randomUUID())).await();
      // ...a usage debit from the stream does not: settlement charged the hot balance before it was written...
      pool.preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, idempotency_key)"
          + " VALUES ($1, -70, 'debit', $2)").execute(Tuple.of(used, "usage:day:" + used + ":2026-01-01")).await();
      // ...and a settlement written straight to PostgreSQL (Redis refused it) does.
      new DirectUsageWriter(pool).write(new SettledUsage("direct-" + UUID.randomUUID(), direct, 1, "gpt-fast", 0,
          "chat", 10, 10, 0, 40, 200, false, 5, -1)).await();
      assertEquals(1, marks(credited));
      assertEquals(0, marks(used));
      assertEquals(1, marks(direct));
      for (long org : new long[] {credited, used, direct}) {
        setBalance(org, 1234);
      }
      f.redis.send(Request.cmd(Command.HSET).arg(RedisKeys.holds(credited)).arg("_total").arg(7)).await();

      int dropped = HotBalances.reconcile(pool, f.redis, LimiterSettings.defaults().balanceTtlMs()).await();

      assertEquals(2, dropped);
      assertNull(balance(credited));
      assertNull(balance(direct));
      assertEquals("1234", balance(used), "an organization without a mark stays hot across the restart");
      assertNotNull(f.redis.send(Request.cmd(Command.GET).arg(RedisKeys.balanceGeneration(credited))).await(),
          "the generation is bumped, so a load that read the ledger before cannot be stored");
      assertNotNull(f.redis.send(Request.cmd(Command.HGET).arg(RedisKeys.holds(credited)).arg("_total")).await(),
          "holds are kept");
      assertEquals(0, marks(credited) + marks(direct), "handled marks are removed");
      assertEquals(0, HotBalances.reconcile(pool, f.redis, LimiterSettings.defaults().balanceTtlMs()).await());
    } finally {
      for (long org : new long[] {credited, used, direct}) {
        f.redis.send(Request.cmd(Command.DEL).arg(RedisKeys.balance(org)).arg(RedisKeys.holds(org))
            .arg(RedisKeys.balanceGeneration(org))).await();
      }
    }
  }
}
