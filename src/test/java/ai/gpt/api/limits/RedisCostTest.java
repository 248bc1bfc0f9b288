package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.RedisServers;
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
  private static final Limits KEY = Limits.builder().concurrency(32).build();

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
    runRequests(limiter, 200, "warm");
    redis.send(Request.cmd(Command.CONFIG).arg("RESETSTAT")).await();
    runRequests(limiter, REQUESTS, "run");
    Map<String, long[]> stats = commandStats();

    long scripts = stats.get("evalsha")[0];
    assertEquals(2L * REQUESTS, scripts, "one EVALSHA per admission and one per settlement: " + stats.keySet());
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
    double usecPerRequest = (double) topLevelUsec / REQUESTS;
    System.out.printf("Redis per metered request: %.1f commands inside the scripts, %.1f µs of EVALSHA (%s)%n",
        callsPerRequest, usecPerRequest, summary(stats));
    assertTrue(callsPerRequest <= 25, "commands per admission + settlement: " + callsPerRequest);
  }

  private static void runRequests(RateLimiter limiter, int n, String prefix) {
    for (int batch = 0; batch < n; batch += 16) {
      List<Future<SettleResult>> all = new ArrayList<>();
      for (int i = batch; i < Math.min(n, batch + 16); i++) {
        AdmissionRequest r = AdmissionRequest.of(prefix + "-" + i, 42, 421, DEFAULT_PLAN, KEY, 50, 100,
            250_000, 500_000);
        all.add(limiter.admit(r).compose(res -> {
          assertTrue(res.admitted(), "admitted: " + res);
          return limiter.settle(new SettledUsage(r.requestId(), 42, 421, "gpt-fast", 7, "/v1/chat/completions", 40,
              60, 0, 40, 200, false, 10, 2));
        }));
      }
      Future.all(all).await();
    }
  }

  private static Map<String, long[]> commandStats() {
    String info = redis.send(Request.cmd(Command.INFO).arg("commandstats")).await().toString();
    Map<String, long[]> out = new HashMap<>();
    Matcher m = STAT.matcher(info);
    while (m.find()) {
      if (!m.group(1).equals("config") && !m.group(1).equals("info")) {
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
