package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.RedisServers;
import ai.gpt.api.testing.Sleep;
import ai.gpt.api.usage.UsageStreams;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What one metered request (admission + settlement, default plan: six org buckets, a per-key concurrency limit)
 * costs Redis, from {@code INFO commandstats} of a private redis-server (the shared one serves other tests, so
 * its counters would not be ours). The number of commands the scripts run is exact and asserted; the
 * microseconds depend on the machine and are printed, for the README's sizing figures.
 */
class RedisCostTest {
  private static final int REQUESTS = 2_000;
  private static final Pattern STAT = Pattern.compile("cmdstat_(\\w+):calls=(\\d+),usec=(\\d+)");
  /** The default plan's six windows, large enough that none refuses. */
  private static final Limits DEFAULT_PLAN = new Limits(1_000_000L, 20_000_000L, 200_000_000L, 2_000_000_000L,
      40_000_000_000L, 400_000_000_000L, null);
  private static final Limits KEY = Limits.builder().concurrency(128).build();

  private static RedisServers server;
  private static Vertx vertx;
  private static Redis redis;

  @BeforeAll
  static void start() throws Exception {
    server = RedisServers.standalone();
    vertx = Vertx.vertx();
    redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(server.urls().get(0))
        .setMaxPoolSize(8).setMaxPoolWaiting(1024));
  }

  @AfterAll
  static void stop() {
    redis.close();
    vertx.close().await();
    server.close();
  }

  @Test
  @DisplayName("an admission and its settlement stay within a fixed number of Redis commands")
  void costPerMeteredRequest() {
    RateLimiter limiter = RateLimiter.create(vertx, redis, org -> Future.succeededFuture(1_000_000_000_000L),
        LimiterSettings.defaults()).await();
    // Warm: the org's balance is loaded and its hashes exist, as for any busy organization.
    runRequests(limiter, 200, 16, "warm");
    long settled = 200;
    for (int inFlight : new int[] {1, 64}) {
      awaitCopies(settled);
      redis.send(Request.cmd(Command.CONFIG).arg("RESETSTAT")).await();
      double cpuBefore = serverCpuUsec();
      runRequests(limiter, REQUESTS, inFlight, "run" + inFlight);
      settled += REQUESTS;
      awaitCopies(settled);
      double cpu = serverCpuUsec() - cpuBefore;
      Map<String, long[]> stats = commandStats();

      long scripts = stats.get("evalsha")[0];
      long inner = 0;
      long topLevelUsec = 0;
      for (Map.Entry<String, long[]> e : stats.entrySet()) {
        if (e.getKey().equals("evalsha")) {
          topLevelUsec += e.getValue()[1];
        } else {
          inner += e.getValue()[0];
        }
      }
      double callsPerRequest = (double) inner / REQUESTS;
      System.out.printf("Redis per metered request, %d in flight: %.2f script calls, %.1f commands inside them,"
          + " %.1f µs of EVALSHA, %.1f µs of server CPU (%s)%n", inFlight, (double) scripts / REQUESTS,
          callsPerRequest, (double) topLevelUsec / REQUESTS, cpu / REQUESTS, summary(stats));
      // Alone in its batch: 9 admission + 9 settlement commands (v4: 12 + 11; each script reads its keys with one
      // MGET, and admissions look for expired holds at most once a second), a TIME for each script call, and the
      // copy of the usage event from the org's outbox to its shard stream (one XADD: the price of tagging keys by
      // organization, see lua/README.md); 0.1 leaves room for the once-a-second sweep, not for one more command.
      assertTrue(callsPerRequest <= 21.1, "commands per admission + settlement: " + callsPerRequest);
      if (inFlight > 1) {
        // In batches (v6): a request's own commands are 2 for its admission (GET, SET of the reservation), 4 for
        // its settlement (GET, HDEL, XADD, SET of the marker) and the copy; the 14 an organization's batch pair
        // shares (buckets, holds, expiries, leases, balance, TIME) are paid once per batch. 11 allows batches of
        // only 4 (about 20 on this machine), not one more command of a request's own.
        assertTrue(callsPerRequest <= 11, "commands per admission + settlement in batches: " + callsPerRequest);
      }
      if (inFlight == 1) {
        assertEquals(2L * REQUESTS, scripts, "one EVALSHA per admission and one per settlement: " + stats.keySet());
      }
    }
  }

  /** {@code n} admissions each followed by its settlement, {@code inFlight} of them at a time. */
  private static void runRequests(RateLimiter limiter, int n, int inFlight, String prefix) {
    AtomicInteger next = new AtomicInteger();
    List<Future<Void>> chains = new ArrayList<>();
    for (int c = 0; c < inFlight; c++) {
      chains.add(chain(limiter, n, prefix, next));
    }
    Future.all(chains).await();
    assertEquals(n + inFlight, next.get(), "every request ran");
  }

  private static Future<Void> chain(RateLimiter limiter, int n, String prefix, AtomicInteger next) {
    int i = next.getAndIncrement();
    if (i >= n) {
      return Future.succeededFuture();
    }
    AdmissionRequest r = AdmissionRequest.of(prefix + "-" + i, 42, 421, DEFAULT_PLAN, KEY, 50, 50, 100,
        250_000, 500_000);
    return limiter.admit(r).compose(res -> {
      assertTrue(res.admitted(), "admitted: " + res);
      return limiter.settle(new SettledUsage(r.requestId(), 42, 421, "gpt-fast", 7, "/v1/chat/completions", 40,
          60, 0, 40, 200, false, 10, 2));
    }).compose(settled -> chain(limiter, n, prefix, next));
  }

  /** Waits until the copies of the usage events (made without the settlement waiting for them) have all landed. */
  private static void awaitCopies(long n) {
    Request xlen = Request.cmd(Command.XLEN).arg(UsageStreams.keyForOrg(42));
    for (int i = 0; i < 200 && redis.send(xlen).await().toLong() < n; i++) {
      Sleep.ms(10);
    }
    assertEquals(n, redis.send(xlen).await().toLong(), "every usage event copied to its shard stream once");
  }

  /** CPU the server's main thread (which runs every command and script) has used, µs. */
  private static double serverCpuUsec() {
    String info = redis.send(Request.cmd(Command.INFO).arg("cpu")).await().toString();
    Matcher sys = Pattern.compile("used_cpu_sys_main_thread:([0-9.]+)").matcher(info);
    Matcher user = Pattern.compile("used_cpu_user_main_thread:([0-9.]+)").matcher(info);
    assertTrue(sys.find() && user.find(), info);
    return (Double.parseDouble(sys.group(1)) + Double.parseDouble(user.group(1))) * 1e6;
  }

  private static Map<String, long[]> commandStats() {
    String info = redis.send(Request.cmd(Command.INFO).arg("commandstats")).await().toString();
    Map<String, long[]> out = new HashMap<>();
    Matcher m = STAT.matcher(info);
    while (m.find()) {
      if (!List.of("config", "info", "xlen").contains(m.group(1))) { // the test's own commands
        out.put(m.group(1), new long[] {Long.parseLong(m.group(2)), Long.parseLong(m.group(3))});
      }
    }
    return out;
  }

  private static String summary(Map<String, long[]> stats) {
    StringBuilder s = new StringBuilder();
    stats.forEach((cmd, v) -> s.append(cmd).append('=').append(String.format("%.2f", (double) v[0] / REQUESTS))
        .append(' '));
    return s.toString().trim();
  }
}
