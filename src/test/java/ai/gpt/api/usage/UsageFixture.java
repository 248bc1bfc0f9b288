package ai.gpt.api.usage;

import static org.junit.jupiter.api.Assertions.fail;

import ai.gpt.api.db.Database;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.testing.UsageQueues;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.LongSupplier;

/** The real PostgreSQL and Redis, cleaned for a usage test, with helpers to queue events and count rows. */
final class UsageFixture implements AutoCloseable {
  final Vertx vertx;
  final Pool pool;
  final Redis redis;
  private final List<String> deployments = new ArrayList<>();

  private UsageFixture(Vertx vertx) {
    TestServices.ensureDatabase();
    this.vertx = vertx;
    this.pool = Database.pool(vertx, TestServices.DATABASE_URL, 4);
    // Default pool options, as the gateway creates its client.
    this.redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(TestServices.REDIS_URL));
  }

  /** Empty usage streams (no consumer group either), no outboxes, and empty usage, ledger and reject tables. */
  static UsageFixture clean(Vertx vertx) {
    UsageFixture f = new UsageFixture(vertx);
    Request del = Request.cmd(Command.DEL);
    for (int s = 0; s < UsageStreams.SHARDS; s++) {
      del.arg(UsageStreams.key(s));
    }
    UsageQueues.outboxKeys(f.redis).forEach(del::arg);
    del.arg(OutboxSweep.LOCK);
    f.redis.send(del).await();
    f.pool.query("TRUNCATE usage, usage_requests, usage_rejects, credit_ledger").execute().await();
    return f;
  }

  /** A pool to the test database through another port (a {@code TcpProxy}). */
  Pool poolVia(int port, int size) {
    PgConnectOptions o = Database.connectOptions(TestServices.DATABASE_URL).setPort(port).setHost("127.0.0.1");
    return PgBuilder.pool().with(new PoolOptions().setMaxSize(size)).connectingTo(o).using(vertx).build();
  }

  long createOrg(String prefix) {
    return pool.preparedQuery("INSERT INTO organizations (name) VALUES ($1) RETURNING id")
        .execute(Tuple.of(prefix + "-" + UUID.randomUUID())).await().iterator().next().getLong("id");
  }

  /** The UTC days on which the organization has paid usage rows: its number of ledger usage debits. */
  long paidDays(long orgId) {
    return count("SELECT count(DISTINCT date_trunc('day', created_at AT TIME ZONE 'UTC')) FROM usage"
        + " WHERE org_id = $1 AND cost_micros <> 0", orgId);
  }

  /** Deterministic event number {@code i} of an organization; costs vary so sums are meaningful. */
  static UsageRecord event(String requestId, long orgId, int i) {
    int prompt = 10 + i % 97;
    int completion = i % 5 == 0 ? 0 : 3 + i % 211;
    long cost = prompt * 250L + completion * 500L + i % 7; // micro-USD, exact
    return new UsageRecord(requestId, orgId, 1000 + orgId, i % 3 == 0 ? "gpt-full" : "gpt-fast",
        i % 4 == 0 ? null : (long) (i % 4), "chat", prompt, completion, i % 11, cost, i % 13 == 0 ? 499 : 200,
        i % 9 == 0, 50 + i % 400, i % 4 == 0 ? null : 5 + i % 40, 1_700_000_000_000L + i * 1_000L);
  }

  static List<UsageRecord> events(String prefix, List<Long> orgs, int n) {
    List<UsageRecord> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(event(prefix + "-" + i, orgs.get(i % orgs.size()), i));
    }
    return out;
  }

  /** XADDs the events to their organization's stream, pipelined 1,000 at a time. */
  void xadd(List<UsageRecord> events) {
    for (int i = 0; i < events.size(); i += 1000) {
      List<Request> batch = new ArrayList<>();
      for (UsageRecord r : events.subList(i, Math.min(events.size(), i + 1000))) {
        batch.add(xaddRequest(UsageStreams.keyForOrg(r.orgId()), r.toFields()));
      }
      redis.batch(batch).await();
    }
  }

  void xaddRaw(int shard, Map<String, String> fields) {
    redis.send(xaddRequest(UsageStreams.key(shard), fields)).await();
  }

  private static Request xaddRequest(String key, Map<String, String> fields) {
    Request r = Request.cmd(Command.XADD).arg(key).arg("*");
    fields.forEach((k, v) -> r.arg(k).arg(v));
    return r;
  }

  UsageWriter deploy(String consumer, UsageWriterSettings settings) {
    return deploy(pool, consumer, settings);
  }

  UsageWriter deploy(Pool writerPool, String consumer, UsageWriterSettings settings) {
    return deploy(writerPool, consumer, settings, new DeploymentOptions());
  }

  UsageWriter deploy(Pool writerPool, String consumer, UsageWriterSettings settings, DeploymentOptions options) {
    UsageWriter writer = new UsageWriter(writerPool, redis, consumer, settings);
    deployments.add(vertx.deployVerticle(writer, options).await());
    return writer;
  }

  void undeployAll() {
    for (String id : deployments) {
      vertx.undeploy(id).await();
    }
    deployments.clear();
  }

  /** The first column of every row, as text. */
  List<String> texts(String sql) {
    List<String> out = new ArrayList<>();
    pool.query(sql).execute().await().forEach(row -> out.add(row.getString(0)));
    return out;
  }

  long count(String sql, Object... params) {
    Row row = pool.preparedQuery(sql).execute(Tuple.wrap(params)).await().iterator().next();
    return row.getValue(0) == null ? 0 : ((Number) row.getValue(0)).longValue();
  }

  /** Entries left in the usage streams (XLEN summed). */
  long backlog() {
    long n = 0;
    for (int s = 0; s < UsageStreams.SHARDS; s++) {
      n += redis.send(Request.cmd(Command.XLEN).arg(UsageStreams.key(s))).await().toLong();
    }
    return n;
  }

  /** Entries delivered to some consumer and not acknowledged yet, over all shards. */
  long pending() {
    long n = 0;
    for (int s = 0; s < UsageStreams.SHARDS; s++) {
      Response r = redis.send(Request.cmd(Command.XPENDING).arg(UsageStreams.key(s)).arg(UsageStreams.GROUP))
          .recover(e -> String.valueOf(e.getMessage()).startsWith("NOGROUP")
              ? Future.succeededFuture(null) : Future.failedFuture(e))
          .await();
      n += r == null ? 0 : r.get(0).toLong();
    }
    return n;
  }

  static void awaitValue(String what, long expected, Duration timeout, LongSupplier value) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long last = -1;
    while (System.nanoTime() < deadline) {
      last = value.getAsLong();
      if (last == expected) {
        return;
      }
      sleep(20);
    }
    fail(what + ": expected " + expected + " within " + timeout + ", last seen " + last);
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    undeployAll();
    pool.close().await();
    redis.close().await();
  }
}
