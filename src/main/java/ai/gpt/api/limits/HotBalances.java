package ai.gpt.api.limits;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;

/**
 * Reconciliation of the hot balances with PostgreSQL, run when a gateway starts: every organization's Redis
 * balance is dropped, so the next admission reloads it from the ledger (minus usage still queued). That corrects
 * anything a crash left behind, such as a settlement written straight to PostgreSQL while Redis was down and never
 * charged in Redis. Holds, buckets and leases are untouched, so requests in flight on other replicas are unaffected.
 */
public final class HotBalances {
  private static final String PATTERN = RedisKeys.PREFIX + "{s*}:org:*:balance";

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

  /** Deletes every hot balance; returns how many there were. */
  public static Future<Integer> reconcile(Redis redis) {
    return scan(redis, "0", 0);
  }

  private static Future<Integer> scan(Redis redis, String cursor, int dropped) {
    Request scan = Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(PATTERN).arg("COUNT").arg(1000);
    return redis.send(scan).compose(reply -> {
      String next = reply.get(0).toString();
      List<String> keys = new ArrayList<>();
      for (Response key : reply.get(1)) {
        keys.add(key.toString());
      }
      Future<Integer> deleted = keys.isEmpty() ? Future.succeededFuture(0)
          : redis.send(Request.cmd(Command.UNLINK, keys.toArray())).map(Response::toInteger);
      return deleted.compose(n -> "0".equals(next) ? Future.succeededFuture(dropped + n) : scan(redis, next, dropped + n));
    });
  }
}
