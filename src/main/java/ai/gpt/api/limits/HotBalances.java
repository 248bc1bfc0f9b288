package ai.gpt.api.limits;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;

/**
 * Reconciliation of the hot balances with PostgreSQL, run when a gateway starts. A hot balance can miss a ledger
 * change only when the change did not reach Redis: a settlement written straight to PostgreSQL while Redis was
 * down whose gateway died before replaying it, or a credit whose gateway died between its commit and its Redis
 * step. Those writes mark the organization in {@code hot_balance_stale} in their own transaction (see
 * V024__balances_without_history.sql); a start drops only the marked organizations' hot balances, so the next
 * admission reloads them from the ledger, and every other organization stays hot across a deploy. Holds, buckets
 * and leases are untouched, so requests in flight on other replicas are unaffected.
 */
public final class HotBalances {
  private static final String MARKED = "SELECT org_id, seq FROM hot_balance_stale";
  /**
   * Only the mark this run read: a mark set again meanwhile (a new seq) is for a later change. One mark per
   * statement: a writer holds its organizations' marks until its commit (a transfer marks two), so a statement
   * deleting several could hold one mark while waiting for another that such a writer holds while waiting for the
   * first, a deadlock that failed a gateway's start.
   */
  private static final String UNMARK = "DELETE FROM hot_balance_stale WHERE org_id = $1 AND seq = $2";

  private static final String ORGS_AFTER = "SELECT id FROM organizations WHERE id > $1 ORDER BY id LIMIT $2";
  private static final int PAGE = 1_000;

  private HotBalances() {}

  /**
   * Drops one organization's hot balance after a ledger change made outside {@code CreditDebits} (the CLI). The
   * generation is bumped FIRST: a load that read the ledger before the change can then no longer be stored, and
   * one stored before the bump is deleted right after.
   */
  public static Future<Void> drop(Redis redis, long orgId, long balanceTtlMs) {
    String generation = RedisKeys.balanceGeneration(orgId);
    return redis.send(Request.cmd(Command.INCR).arg(generation))
        .compose(v -> redis.send(Request.cmd(Command.PEXPIRE).arg(generation).arg(balanceTtlMs)))
        .compose(v -> redis.send(Request.cmd(Command.DEL).arg(RedisKeys.balance(orgId))))
        .mapEmpty();
  }

  /**
   * Drops the hot balances of the organizations marked stale, removing each mark after its drop; returns how many.
   * A mark is set in the transaction of the change it stands for, so the change is committed when the mark is read,
   * and any load after the drop sees it. Running concurrently on several replicas only drops a balance twice.
   */
  public static Future<Integer> reconcile(Pool pool, Redis redis, long balanceTtlMs) {
    return pool.query(MARKED).execute().compose(rows -> {
      List<Row> marks = new ArrayList<>();
      rows.forEach(marks::add);
      return unmarkAll(pool, redis, marks, 0, balanceTtlMs).map(v -> marks.size());
    });
  }

  /** One mark after the other: its hot balance is dropped, then the mark removed. */
  private static Future<Void> unmarkAll(Pool pool, Redis redis, List<Row> marks, int from, long balanceTtlMs) {
    if (from == marks.size()) {
      return Future.succeededFuture();
    }
    long org = marks.get(from).getLong("org_id");
    return drop(redis, org, balanceTtlMs)
        .compose(v -> pool.preparedQuery(UNMARK).execute(Tuple.of(org, marks.get(from).getLong("seq"))))
        .compose(v -> unmarkAll(pool, redis, marks, from + 1, balanceTtlMs));
  }

  /**
   * Drops every organization's hot balance (the CLI's {@code credits reload-all}, after Redis was restored from an
   * old snapshot, say); returns how many organizations. Pages through the organizations by id.
   */
  public static Future<Integer> dropEvery(Pool pool, Redis redis, long balanceTtlMs) {
    return dropFrom(pool, redis, 0, 0, balanceTtlMs);
  }

  private static Future<Integer> dropFrom(Pool pool, Redis redis, long afterId, int done, long balanceTtlMs) {
    return pool.preparedQuery(ORGS_AFTER).execute(Tuple.of(afterId, PAGE)).compose(rows -> {
      List<Long> orgs = new ArrayList<>();
      rows.forEach(r -> orgs.add(r.getLong(0)));
      if (orgs.isEmpty()) {
        return Future.succeededFuture(done);
      }
      return dropAll(redis, orgs, 0, balanceTtlMs)
          .compose(v -> dropFrom(pool, redis, orgs.get(orgs.size() - 1), done + orgs.size(), balanceTtlMs));
    });
  }

  /** One organization after the other: a reconciliation after a crash marks few, and it must not flood Redis. */
  private static Future<Void> dropAll(Redis redis, List<Long> orgs, int from, long balanceTtlMs) {
    if (from == orgs.size()) {
      return Future.succeededFuture();
    }
    return drop(redis, orgs.get(from), balanceTtlMs).compose(v -> dropAll(redis, orgs, from + 1, balanceTtlMs));
  }
}
