package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.billing.Money;
import ai.gpt.api.testing.RedisServers;
import ai.gpt.api.testing.Sleep;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.LongStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Group commit ({@link ScriptBatches}): many admissions and settlements of a few organizations fired at once from
 * several event loops through {@link RateLimiter} share script calls, and every limit and every balance comes out
 * exactly as if the requests had run one after the other. A private redis-server, so {@code INFO commandstats}
 * counts only these calls.
 */
class GroupCommitTest {
  private static final Pattern EVALSHA = Pattern.compile("cmdstat_evalsha:calls=(\\d+)");
  private static final int CONTEXTS = 4;
  private static final int PER_CONTEXT = 60;
  private static final long IN_PRICE = 250_000;
  private static final long OUT_PRICE = 500_000;
  /** Each org has its own tag ({o3}, {o19}, {o5}): an org's requests go in the same batches. */
  private static final long RATE_ORG = 3;
  private static final long CREDIT_ORG = 19;
  private static final long OTHER_ORG = 5;
  private static final long RPM = 37;
  private static final long HOLD = Money.requestCost(50, 100, IN_PRICE, OUT_PRICE);
  private static final long FITTING = 23;
  /** Covers exactly {@link #FITTING} holds, plus a remainder smaller than one. */
  private static final long CREDIT = FITTING * HOLD + HOLD - 1;
  private static final long BIG = 1_000_000_000L;

  private static RedisServers server;
  private static Vertx vertx;
  private static Redis redis;
  private static List<Context> contexts;

  @BeforeAll
  static void start() throws Exception {
    server = RedisServers.standalone();
    vertx = Vertx.vertx();
    redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(server.urls().get(0))
        .setMaxPoolSize(8).setMaxPoolWaiting(1024));
    contexts = new ArrayList<>();
    for (int i = 0; i < CONTEXTS; i++) {
      Caller caller = new Caller();
      vertx.deployVerticle(caller).await();
      contexts.add(caller.context());
    }
  }

  @AfterAll
  static void stop() {
    redis.close();
    vertx.close().await();
    server.close();
  }

  @Test
  @DisplayName("concurrent admissions and settlements share script calls and give exactly the sequential results")
  void batchedAndExact() {
    RateLimiter limiter = RateLimiter.create(vertx, redis,
        org -> Future.succeededFuture(org == CREDIT_ORG ? CREDIT : BIG), LimiterSettings.defaults()).await();
    Limits rateLimited = Limits.builder().rpm(RPM).build();
    redis.send(Request.cmd(Command.CONFIG).arg("RESETSTAT")).await();

    // Every context fires its share of requests for all three orgs at once, interleaved, without waiting.
    Map<Long, List<AdmissionRequest>> admitted = new ConcurrentHashMap<>();
    Map<Long, AtomicLong> refused = new ConcurrentHashMap<>();
    List<AdmissionRequest> all = new ArrayList<>();
    List<Future<?>> done = new ArrayList<>();
    for (int c = 0; c < CONTEXTS; c++) {
      List<AdmissionRequest> mine = new ArrayList<>();
      for (int i = 0; i < PER_CONTEXT; i++) {
        long org = List.of(RATE_ORG, CREDIT_ORG, OTHER_ORG).get(i % 3);
        mine.add(AdmissionRequest.of("r-" + c + "-" + i, org, org * 10, org == RATE_ORG ? rateLimited
            : Limits.UNLIMITED, Limits.UNLIMITED, 50, 50, 100, IN_PRICE, OUT_PRICE));
      }
      all.addAll(mine);
      done.add(onContext(contexts.get(c), () -> Future.all(mine.stream().map(r -> {
        Context asking = Vertx.currentContext();
        return limiter.admit(r).map(result -> {
          assertSame(asking, Vertx.currentContext(), "the answer comes on the context that asked");
          if (result.admitted()) {
            admitted.computeIfAbsent(r.orgId(), o -> Collections.synchronizedList(new ArrayList<>())).add(r);
          } else {
            refused.computeIfAbsent(r.orgId(), o -> new AtomicLong()).incrementAndGet();
          }
          return result;
        });
      }).toList())));
    }
    Future.all(done).await();
    long admissionCalls = evalshaCalls();

    assertEquals(RPM, admitted.get(RATE_ORG).size(), "exactly the requests-per-minute limit admitted");
    assertEquals(FITTING, admitted.get(CREDIT_ORG).size(), "exactly as many holds as the credit covers");
    assertEquals(CONTEXTS * PER_CONTEXT / 3, admitted.get(OTHER_ORG).size(), "an unlimited org: all admitted");
    assertEquals(all.size(), admitted.values().stream().mapToInt(List::size).sum()
        + refused.values().stream().mapToLong(AtomicLong::get).sum());
    assertTrue(admissionCalls < all.size() / 4, "admissions were batched: " + admissionCalls + " script calls for "
        + all.size() + " admissions");

    // Settle every admitted request at once, each at its own exact cost.
    Map<Long, AtomicLong> charged = new ConcurrentHashMap<>();
    List<Future<?>> settled = new ArrayList<>();
    int n = 0;
    for (List<AdmissionRequest> rs : admitted.values()) {
      for (AdmissionRequest r : rs) {
        long completion = 1 + n % 100;
        SettledUsage u = new SettledUsage(r.requestId(), r.orgId(), r.keyId(), "gpt-fast", 7,
            "/v1/chat/completions", 50, completion, 0, Money.requestCost(50, completion, IN_PRICE, OUT_PRICE), 200,
            false, 10, 2);
        charged.computeIfAbsent(r.orgId(), o -> new AtomicLong()).addAndGet(u.costMicros());
        settled.add(onContext(contexts.get(n++ % CONTEXTS), () -> limiter.settle(u).map(res -> {
          assertEquals(SettleResult.Outcome.SETTLED, res.outcome());
          return res;
        })));
      }
    }
    Future.all(settled).await();
    long settlementCalls = evalshaCalls() - admissionCalls;
    assertTrue(settlementCalls < n / 4, "settlements were batched: " + settlementCalls + " script calls for " + n);

    assertEquals(CREDIT - charged.get(CREDIT_ORG).get(), balance(CREDIT_ORG), "balance exact to the micro-dollar");
    assertEquals(BIG - charged.get(RATE_ORG).get(), balance(RATE_ORG));
    assertEquals(BIG - charged.get(OTHER_ORG).get(), balance(OTHER_ORG));
    for (long org : List.of(RATE_ORG, CREDIT_ORG, OTHER_ORG)) {
      assertEquals("0", hget(RedisKeys.holds(org), "_total"), "every hold released");
    }
    long events = 0;
    for (long org : List.of(RATE_ORG, CREDIT_ORG, OTHER_ORG)) {
      events += redis.send(Request.cmd(Command.XLEN).arg(RedisKeys.outbox(org))).await().toLong();
    }
    assertEquals(n, events, "one usage event per settlement in its org's outbox");
  }

  @Test
  @DisplayName("admissions of one batch that sweep expired holds between them keep every new hold and the exact total")
  void sweepInsideABatch() {
    RateLimiter limiter = RateLimiter.create(vertx, redis, org -> Future.succeededFuture(BIG),
        LimiterSettings.defaults()).await();
    long org = 11;
    // 40 holds of requests that never settled, long expired: a sweep drops 16, and one that drops 16 makes the
    // next admission sweep again, inside the same batch, after the batch's first hold (kept in memory) is written.
    int expired = 40;
    for (int i = 0; i < expired; i++) {
      redis.send(Request.cmd(Command.HSET).arg(RedisKeys.holds(org)).arg("dead-" + i).arg(1_000)).await();
      redis.send(Request.cmd(Command.ZADD).arg(RedisKeys.holdExpiries(org)).arg(1).arg("dead-" + i)).await();
    }
    redis.send(Request.cmd(Command.HSET).arg(RedisKeys.holds(org)).arg("_total").arg(expired * 1_000)).await();
    // A balance already in Redis: a load would answer the first calls "no_balance" before anything is admitted.
    redis.send(Request.cmd(Command.SET).arg(RedisKeys.balance(org)).arg(BIG)).await();
    // The first is sent alone; the other four wait for it and go as one batch.
    List<Future<AdmissionResult>> results = onContext(contexts.get(0), () -> Future.succeededFuture(
        LongStream.range(0, 5).mapToObj(i -> limiter.admit(request("sw-" + i, org))).toList())).await();
    Future.all(results).await();
    results.forEach(r -> assertTrue(r.result().admitted()));
    long hold = Money.requestCost(5, 5, IN_PRICE, OUT_PRICE);
    assertEquals(String.valueOf(5 * hold), hget(RedisKeys.holds(org), "_total"), "the five new holds, exactly");
    for (int i = 0; i < 5; i++) {
      assertEquals(String.valueOf(hold), hget(RedisKeys.holds(org), "sw-" + i), "hold sw-" + i);
    }
    assertEquals(5L, redis.send(Request.cmd(Command.HLEN).arg(RedisKeys.holds(org))).await().toLong() - 3,
        "no expired hold left (fields besides holds: _total, _renew, _sweep)");
    assertEquals(5L, redis.send(Request.cmd(Command.ZCARD).arg(RedisKeys.holdExpiries(org))).await().toLong());
  }

  @Test
  @DisplayName("a settlement that fails in a batch fails alone: the others of its batch are settled")
  void failureStaysInItsRequest() {
    RateLimiter limiter = RateLimiter.create(vertx, redis, org -> Future.succeededFuture(BIG),
        LimiterSettings.defaults()).await();
    long org = 7;
    List<AdmissionRequest> rs = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      rs.add(request("f-" + i, org));
    }
    Future.all(rs.stream().map(limiter::admit).toList()).await();
    long before = balance(org);
    redis.send(Request.cmd(Command.CONFIG).arg("RESETSTAT")).await();

    List<Future<SettleResult>> results = onContext(contexts.get(0), () -> Future.succeededFuture(
        rs.stream().map(r -> limiter.settle(new SettledUsage(r.requestId(), org,
            r.requestId().equals("f-5") ? 71 : 70, "gpt-fast", 7, "/v1/chat/completions", 5, 5, 0, 3, 200, false, 1,
            1))).toList())).await();
    Future.join(results).otherwiseEmpty().await();

    assertTrue(evalshaCalls() < rs.size(), "the settlements shared script calls");
    for (int i = 0; i < rs.size(); i++) {
      Future<SettleResult> f = results.get(i);
      if (i == 5) {
        assertTrue(f.failed() && f.cause().getMessage().contains("GPTAPI_MISMATCH"), String.valueOf(f.cause()));
      } else {
        assertEquals(SettleResult.Outcome.SETTLED, f.result().outcome(), "request " + i);
      }
    }
    assertEquals(before - 11 * 3, balance(org), "the eleven others were charged, the refused one was not");
  }

  @Test
  @DisplayName("a call Redis does not answer stops holding back its tag after the stuck limit; its requests wait on")
  void stuckCallReleasesItsTag() {
    RateLimiter limiter = RateLimiter.create(vertx, redis, org -> Future.succeededFuture(BIG),
        LimiterSettings.defaults()).await();
    long org = 9;
    assertTrue(limiter.admit(request("s-0", org)).await().admitted());
    // Redis holds every script call (a write) unanswered for a while, as a hung connection would.
    Redis observer = Redis.createClient(vertx, new RedisOptions().setConnectionString(server.urls().get(0)));
    try {
      observer.send(Request.cmd(Command.CLIENT).arg("PAUSE").arg(ScriptBatches.STUCK_MS * 2).arg("WRITE")).await();
      Future<AdmissionResult> first = limiter.admit(request("s-1", org));
      Future<AdmissionResult> behind = limiter.admit(request("s-2", org));
      Sleep.ms(ScriptBatches.STUCK_MS + 500);
      assertEquals(2, blockedClients(observer), "the second call was sent without waiting for the first's answer");
      assertFalse(first.isComplete(), "nothing gives up on a call but its caller");
      assertFalse(behind.isComplete());

      assertTrue(first.await().admitted(), "answered once Redis goes on");
      assertTrue(behind.await().admitted());
      assertTrue(limiter.admit(request("s-3", org)).await().admitted(), "the tag serves again");
    } finally {
      observer.close();
    }
  }

  private static long blockedClients(Redis observer) {
    Matcher m = Pattern.compile("blocked_clients:(\\d+)")
        .matcher(observer.send(Request.cmd(Command.INFO).arg("clients")).await().toString());
    assertTrue(m.find());
    return Long.parseLong(m.group(1));
  }

  private static AdmissionRequest request(String id, long org) {
    return AdmissionRequest.of(id, org, org * 10, Limits.UNLIMITED, Limits.UNLIMITED, 5, 5, 5, IN_PRICE, OUT_PRICE);
  }

  private static <T> Future<T> onContext(Context context, Supplier<Future<T>> call) {
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> call.get().onComplete(promise));
    return promise.future();
  }

  private static long evalshaCalls() {
    Matcher m = EVALSHA.matcher(redis.send(Request.cmd(Command.INFO).arg("commandstats")).await().toString());
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  private static long balance(long org) {
    Response r = redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(org))).await();
    return r.toLong();
  }

  private static String hget(String key, String field) {
    return redis.send(Request.cmd(Command.HGET).arg(key).arg(field)).await().toString();
  }

  /** A verticle doing nothing: each deployment is an event-loop context of its own to call from. */
  private static final class Caller extends VerticleBase {
    Context context() {
      return context;
    }
  }
}
