package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.db.Database;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.usage.DirectUsageWriter;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
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
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 3); // a transfer, the reconciliation, a probe
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

  @Test
  @DisplayName("reconciliation at start does not deadlock with a transfer marking two organizations")
  void noDeadlockWithTransfer(Vertx vertx) {
    start(vertx);
    long sender = createOrg();
    long receiver = createOrg();
    // The receiver is marked first, so its mark comes first in the table: a statement removing both marks would
    // take the receiver's, then wait for the sender's below.
    for (long org : new long[] {receiver, sender}) {
      credit(pool, org, 1_000);
    }
    SqlConnection transfer = pool.getConnection().await();
    try {
      // A transfer as Transfers writes it: both balances locked in id order, then the sender's row (its mark is
      // now held until the commit)...
      transfer.query("BEGIN").execute().await();
      transfer.preparedQuery("SELECT org_id FROM org_balances WHERE org_id = ANY($1) ORDER BY org_id FOR UPDATE")
          .execute(Tuple.of(new Long[] {sender, receiver})).await();
      credit(transfer, sender, -100);

      Future<Integer> reconciled = HotBalances.reconcile(pool, f.redis, LimiterSettings.defaults().balanceTtlMs());
      awaitWaitingOnLock("DELETE FROM hot_balance_stale%");
      // ...then the receiver's row, while the reconciliation waits for the sender's mark.
      credit(transfer, receiver, 100);
      transfer.query("COMMIT").execute().await();

      assertEquals(2, reconciled.await(), "the reconciliation completes");
      assertEquals(1, marks(sender), "the transfer's newer mark on the sender is kept");
      assertEquals(1, marks(receiver), "the receiver is marked again by the transfer");
    } finally {
      transfer.close().await();
      for (long org : new long[] {sender, receiver}) {
        f.redis.send(Request.cmd(Command.DEL).arg(RedisKeys.balanceGeneration(org))).await();
      }
    }
  }

  private static void credit(SqlClient client, long org, long micros) {
    client.preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, idempotency_key)"
        + " VALUES ($1, $2, 'credit', $3)").execute(Tuple.of(org, micros, "c-" + UUID.randomUUID())).await();
  }

  /** Waits until a statement matching {@code query} waits for a row lock (at most 10 s). */
  private void awaitWaitingOnLock(String query) {
    long deadline = System.currentTimeMillis() + 10_000;
    while (pool.preparedQuery("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        + " AND query LIKE $1").execute(Tuple.of(query)).await().iterator().next().getLong(0) == 0) {
      assertTrue(System.currentTimeMillis() < deadline, "no statement waited on a lock: " + query);
    }
  }
}
