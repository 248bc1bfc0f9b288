package ai.gpt.api.limits;

import ai.gpt.api.config.RedisClients;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

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

  /**
   * {@link #reconcile(Redis)} on a Redis Cluster: SCAN walks one node, so each master is scanned through a client
   * of its own (with the credentials of the first of {@code redisUrl}'s nodes), and keys are deleted one by one
   * (one UNLINK may not span slots).
   */
  public static Future<Integer> reconcile(Vertx vertx, Redis redis, String redisUrl) {
    if (!RedisClients.cluster(redisUrl)) {
      return reconcile(redis);
    }
    URI seed = URI.create(RedisClients.nodes(redisUrl).get(0));
    return redis.send(Request.cmd(Command.CLUSTER).arg("SLOTS")).compose(slots -> {
      Set<String> masters = new LinkedHashSet<>();
      for (Response range : slots) {
        Response master = range.get(2); // [start, end, [host, port, id], replicas...]
        masters.add(URI.create(seed.getScheme() + "://" + (seed.getRawUserInfo() == null ? ""
            : seed.getRawUserInfo() + "@") + master.get(0) + ":" + master.get(1)).toString());
      }
      List<Future<Integer>> perNode = new ArrayList<>();
      for (String node : masters) {
        Redis one = Redis.createClient(vertx, node);
        perNode.add(scan(one, "0", 0).onComplete(ar -> one.close()));
      }
      return Future.all(perNode).map(all -> perNode.stream().mapToInt(Future::result).sum());
    });
  }

  private static Future<Integer> scan(Redis redis, String cursor, int dropped) {
    Request scan = Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(PATTERN).arg("COUNT").arg(1000);
    return redis.send(scan).compose(reply -> {
      String next = reply.get(0).toString();
      List<String> keys = new ArrayList<>();
      for (Response key : reply.get(1)) {
        keys.add(key.toString());
      }
      List<Future<Response>> unlinks = new ArrayList<>();
      for (String key : keys) {
        unlinks.add(redis.send(Request.cmd(Command.UNLINK).arg(key)));
      }
      Future<Integer> deleted = Future.all(unlinks).map(all -> {
        int n = 0;
        for (Future<Response> u : unlinks) {
          n += u.result().toInteger();
        }
        return n;
      });
      return deleted.compose(n -> "0".equals(next) ? Future.succeededFuture(dropped + n) : scan(redis, next, dropped + n));
    });
  }
}
