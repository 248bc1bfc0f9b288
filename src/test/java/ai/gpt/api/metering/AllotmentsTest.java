package ai.gpt.api.metering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.billing.Money;
import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.limits.Bucket;
import ai.gpt.api.limits.LimiterSettings;
import ai.gpt.api.limits.Limits;
import ai.gpt.api.limits.RateLimiter;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.limits.ScopeBuckets;
import ai.gpt.api.limits.SettledUsage;
import ai.gpt.api.limits.Window;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.TestServices;
import ai.gpt.api.usage.UsageStreams;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two replicas' {@link Allotments} on one key, as {@link Metering} drives them (an allotment first, else an admission
 * through Redis that counts toward the next allotment; every request settled in Redis and given back to its
 * allotment), against the test Redis: the day's request limit is never exceeded, the charge is exact, and once both
 * stop, every allotment has been ended and what it did not use given back.
 */
@ExtendWith(VertxExtension.class)
class AllotmentsTest {
  private static final long IN_PRICE = 250_000;
  private static final long OUT_PRICE = 500_000;
  private static final long RPD = 1_000;
  private static final long CREDIT = 1_000_000_000;

  private Redis redis;
  private long org;
  private long key;

  @AfterEach
  void tearDown() {
    if (redis != null) {
      redis.close();
    }
  }

  /** The test Redis, a fresh organization and key, and a limiter whose balance loads give it CREDIT. */
  private RateLimiter limiter(Vertx vertx) {
    redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(TestServices.REDIS_URL)
        .setMaxPoolSize(16).setMaxPoolWaiting(4096));
    org = ThreadLocalRandom.current().nextLong(1_000_000, 1_000_000_000);
    key = org * 10 + 1;
    return RateLimiter.create(vertx, redis, o -> Future.succeededFuture(CREDIT), LimiterSettings.defaults()).await();
  }

  @Test
  @DisplayName("two replicas on one key: never above the limit, exact charge, every allotment given back")
  void twoReplicasNeverExceedTheLimit(Vertx vertx) {
    RateLimiter limiter = limiter(vertx);
    Allotments[] replicas = {new Allotments(vertx, limiter.allotments()), new Allotments(vertx, limiter.allotments())};
    Limits orgLimits = Limits.builder().rpd(RPD).build();
    Limits keyLimits = Limits.builder().concurrency(1_000).build();

    int count = 0;
    int fromAllotments = 0;
    long charged = 0;
    Deque<Object[]> inFlight = new ArrayDeque<>();
    for (int i = 0; i < 1_500; i++) {
      Allotments replica = replicas[i % 2];
      long prompt = 20 + i % 50;
      AdmissionRequest r = AdmissionRequest.of("req-" + UUID.randomUUID(), org, key, orgLimits, keyLimits, prompt,
          prompt, 30, IN_PRICE, OUT_PRICE);
      long now = System.currentTimeMillis();
      AdmissionResult result = replica.admit(r, now);
      if (result != null) {
        fromAllotments++;
      } else {
        result = limiter.admit(r).await();
        if (result.admitted()) {
          replica.admittedExactly(r, now);
        }
      }
      if (result.admitted()) {
        count++;
        inFlight.add(new Object[] {replica, r});
      }
      // About 24 requests in flight; each settles with fewer tokens than it reserved.
      while (inFlight.size() > 24 || (i == 1_499 && !inFlight.isEmpty())) {
        Object[] done = inFlight.poll();
        AdmissionRequest d = (AdmissionRequest) done[1];
        long used = d.reservedTokens() - 10;
        long cost = Money.requestCost(used - 20, 20, IN_PRICE, OUT_PRICE);
        SettledUsage u = new SettledUsage(d.requestId(), org, key, "gpt-fast", 1, "/v1/chat/completions",
            used - 20, 20, 0, cost, 200, false, 5, 1);
        limiter.settle(u).await();
        ((Allotments) done[0]).settled(u);
        charged += cost;
      }
    }
    for (Allotments replica : replicas) {
      replica.close(5_000).await();
    }
    int admitted = count;

    assertTrue(fromAllotments > admitted / 2, "most came from allotments: " + fromAllotments + " of " + admitted);
    assertTrue(admitted <= RPD, "never above the day's limit: " + admitted);
    assertTrue(admitted >= RPD - 2 * Allotments.REQUESTS, "at most two allotments' worth unused: " + admitted);
    assertEquals(CREDIT - charged, get(RedisKeys.balance(org)).toLong(), "charged exactly");
    GatewayHarness.awaitTrue("every allotment ended", () -> {
      Response total = redis.send(Request.cmd(Command.HGET).arg(RedisKeys.holds(org)).arg("_total")).await();
      Response slots = redis.send(Request.cmd(Command.ZCARD).arg(RedisKeys.concurrency(org, key))).await();
      return total.toLong() == 0 && slots.toLong() == 0;
    });
    for (Response field : redis.send(Request.cmd(Command.HKEYS).arg(RedisKeys.holds(org))).await()) {
      assertTrue(field.toString().startsWith("_"), "no hold left: " + field);
    }
    // Given back: the bucket lost exactly the admitted requests (plus a day's 1,000 refilling: ~0.01 a second).
    Response packed = get(RedisKeys.limits(org, key, Bucket.Scope.ORG));
    double level = ScopeBuckets.decode(packed.toBytes()).level(new Bucket(Bucket.Scope.ORG, Bucket.Kind.REQUESTS,
        Window.DAY), RPD, Window.DAY.defaultMillis(), System.currentTimeMillis());
    assertEquals(RPD - admitted, level, 1.0, "day bucket after " + admitted + " requests");

    removeKeys(admitted);
  }

  @Test
  @DisplayName("a fast key's allotments grow to the largest size, their slots follow what is in flight; every one "
      + "is ended and the charge stays exact")
  void allotmentsGrowWithTheRate(Vertx vertx) {
    RateLimiter limiter = limiter(vertx);
    Allotments allotments = new Allotments(vertx, limiter.allotments());
    Limits orgLimits = Limits.builder().build();
    Limits keyLimits = Limits.builder().concurrency(100_000).build();

    int fromAllotments = 0;
    long charged = 0;
    long mostSlots = 0;
    long largest = 0;
    List<AdmissionRequest> inFlight = new ArrayList<>();
    for (int i = 0; i < 4_096; i++) {
      AdmissionRequest r = AdmissionRequest.of("req-" + UUID.randomUUID(), org, key, orgLimits, keyLimits, 20, 20,
          30, IN_PRICE, OUT_PRICE);
      long now = System.currentTimeMillis();
      if (allotments.admit(r, now) != null) {
        fromAllotments++;
      } else {
        assertTrue(limiter.admit(r).await().admitted(), "admitted through Redis");
        allotments.admittedExactly(r, now);
      }
      inFlight.add(r);
      if (inFlight.size() == 64) {
        // Settled together (one batched script call), as a busy gateway's settlements arrive.
        List<Future<?>> settles = new ArrayList<>();
        for (AdmissionRequest d : inFlight) {
          long cost = Money.requestCost(20, 20, IN_PRICE, OUT_PRICE);
          SettledUsage u = new SettledUsage(d.requestId(), org, key, "gpt-fast", 1, "/v1/chat/completions", 20, 20, 0,
              cost, 200, false, 5, 1);
          charged += cost;
          settles.add(limiter.settle(u).onSuccess(v -> allotments.settled(u)));
        }
        Future.all(settles).await();
        inFlight.clear();
        // An allotment's hold is its requests times one request's; its slots are members of the key's lease set.
        Response holds = redis.send(Request.cmd(Command.HGETALL).arg(RedisKeys.holds(org))).await();
        for (String field : holds.getKeys()) {
          if (field.startsWith("allot:")) {
            largest = Math.max(largest, holds.get(field).toLong() / r.holdMicros());
          }
        }
        mostSlots = Math.max(mostSlots,
            redis.send(Request.cmd(Command.ZCARD).arg(RedisKeys.concurrency(org, key))).await().toLong());
      }
    }
    allotments.close(5_000).await();

    assertTrue(fromAllotments > 3_600, "most came from allotments: " + fromAllotments);
    assertEquals(Allotments.MAX_REQUESTS, largest, "grew to the largest allotment");
    // 64 requests in flight at most: two allotments alive at a time, each with twice that (128) slots.
    assertTrue(mostSlots <= 4 * Allotments.MIN_SLOTS, "slots follow what is in flight: " + mostSlots);
    assertEquals(CREDIT - charged, get(RedisKeys.balance(org)).toLong(), "charged exactly");
    GatewayHarness.awaitTrue("every allotment ended", () -> {
      Response total = redis.send(Request.cmd(Command.HGET).arg(RedisKeys.holds(org)).arg("_total")).await();
      Response slots = redis.send(Request.cmd(Command.ZCARD).arg(RedisKeys.concurrency(org, key))).await();
      return total.toLong() == 0 && slots.toLong() == 0;
    });
    removeKeys(4_096);
  }

  /**
   * The organization's keys, and the copies of its {@code settled} events in the shard stream (another test's usage
   * writer would otherwise read them).
   */
  private void removeKeys(int settled) {
    for (String k : new String[] {RedisKeys.balance(org), RedisKeys.holds(org), RedisKeys.holdExpiries(org),
        RedisKeys.balanceGeneration(org), RedisKeys.concurrency(org, key), RedisKeys.outbox(org),
        RedisKeys.limits(org, key, Bucket.Scope.ORG), RedisKeys.limits(org, key, Bucket.Scope.KEY)}) {
      redis.send(Request.cmd(Command.DEL).arg(k)).await();
    }
    GatewayHarness.awaitTrue("every copy sent", () -> copies(org).size() == settled);
    Request xdel = Request.cmd(Command.XDEL).arg(UsageStreams.keyForOrg(org));
    copies(org).forEach(xdel::arg);
    redis.send(xdel).await();
  }

  private List<String> copies(long org) {
    List<String> ids = new ArrayList<>();
    for (Response entry : redis.send(Request.cmd(Command.XRANGE).arg(UsageStreams.keyForOrg(org)).arg("-").arg("+"))
        .await()) {
      Response fields = entry.get(1);
      for (int i = 0; i + 1 < fields.size(); i += 2) {
        if (fields.get(i).toString().equals(UsageStreams.ORG_ID) && fields.get(i + 1).toString().equals(
            Long.toString(org))) {
          ids.add(entry.get(0).toString());
        }
      }
    }
    return ids;
  }

  private Response get(String key) {
    return redis.send(Request.cmd(Command.GET).arg(key)).await();
  }
}
