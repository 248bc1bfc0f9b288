package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * lua/allot_v1.lua and lua/allot_end_v1.lua on the test Redis: an allotment takes requests, tokens, a hold and
 * concurrency slots at once, only with twice as much left; its end gives back what was not used, exactly once.
 * Day windows only, so the refill during a test (about 1 request and 116 tokens a second here) stays below the
 * tolerances.
 */
@ExtendWith(VertxExtension.class)
class AllotmentCallsTest {
  private static final Limits ORG = Limits.builder().rpd(100_000).tpd(10_000_000).build();
  private static final Limits KEY = Limits.builder().concurrency(200).build();

  private LimiterFixture f;

  @AfterEach
  void tearDown() {
    if (f != null) {
      f.close();
    }
  }

  @Test
  @DisplayName("takes n requests, t tokens, the hold and s slots at once; the end gives back the unused part, once")
  void takeAndEnd(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(1_000_000_000);
    AllotmentScope scope = firstRequest();
    Bucket rpd = bucket(Bucket.Kind.REQUESTS);
    Bucket tpd = bucket(Bucket.Kind.TOKENS);
    double requestsBefore = f.level(f.key, rpd);
    double tokensBefore = f.level(f.key, tpd);

    AllotmentCalls.Grant grant = f.limiter.allotments()
        .take("allot:t:1", scope, new AllotmentCalls.Size(32, 3_200, 32_000, 32)).await();
    assertNotNull(grant, "far from every limit: granted");
    assertEquals(requestsBefore - 32, f.level(f.key, rpd), 1.0);
    // The daily token bucket refills ~115 tokens a second meanwhile: 20 is what a loaded machine's 170 ms give back.
    assertEquals(tokensBefore - 3_200, f.level(f.key, tpd), 20.0);
    assertEquals((long) Math.floor(requestsBefore - 32), grant.requests().remaining(), 1.0);
    assertEquals(f.balance(), grant.availableMicros(), "available before it: the balance (no other hold)");
    Map<String, String> holds = f.holds();
    assertEquals("32000", holds.get("allot:t:1"));
    assertEquals("32000", holds.get("_total"));
    Map<String, String> slots = f.zrange(RedisKeys.concurrency(f.org, f.key));
    assertEquals(32, slots.size(), slots.toString());
    assertTrue(slots.containsKey("allot:t:1#1") && slots.containsKey("allot:t:1#32"), slots.toString());
    assertTrue(f.zrange(RedisKeys.holdExpiries(f.org)).containsKey("allot:t:1"), "the hold expires like a request's");

    assertEquals(null, f.limiter.allotments()
        .take("allot:t:1", scope, new AllotmentCalls.Size(32, 3_200, 32_000, 32)).await(), "an id is taken once");

    // 22 of its requests ran and used 2,000 tokens: 10 requests and 1,200 tokens go back.
    assertTrue(f.limiter.allotments().end("allot:t:1", scope, 10, 1_200, 32).await());
    assertEquals(requestsBefore - 22, f.level(f.key, rpd), 1.0);
    assertEquals(tokensBefore - 2_000, f.level(f.key, tpd), 20.0);
    holds = f.holds();
    assertFalse(holds.containsKey("allot:t:1"));
    assertEquals("0", holds.get("_total"));
    assertTrue(f.zrange(RedisKeys.concurrency(f.org, f.key)).isEmpty());
    assertFalse(f.zrange(RedisKeys.holdExpiries(f.org)).containsKey("allot:t:1"));

    Map<String, Object> before = f.snapshot(f.key);
    assertFalse(f.limiter.allotments().end("allot:t:1", scope, 10, 1_200, 32).await(), "ended once");
    assertEquals(before, f.snapshot(f.key), "a repeated end gives nothing back");
  }

  @Test
  @DisplayName("used more tokens than taken: the end takes the excess from the buckets")
  void overrunTakesTheExcess(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(1_000_000_000);
    AllotmentScope scope = firstRequest();
    Bucket tpd = bucket(Bucket.Kind.TOKENS);
    double tokensBefore = f.level(f.key, tpd);
    assertNotNull(f.limiter.allotments().take("allot:t:2", scope, new AllotmentCalls.Size(8, 800, 8_000, 0)).await());
    assertTrue(f.limiter.allotments().end("allot:t:2", scope, 0, -500, 0).await());
    assertEquals(tokensBefore - 1_300, f.level(f.key, tpd), 2.0);
    assertTrue(f.zrange(RedisKeys.concurrency(f.org, f.key)).isEmpty(), "no slots taken or left");
  }

  @Test
  @DisplayName("refused, changing nothing, when a bucket, the credit or the concurrency limit has less than twice")
  void refusedNearALimit(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(1_000_000);
    AllotmentScope scope = firstRequest();
    AllotmentCalls calls = f.limiter.allotments();
    Map<String, Object> before = f.snapshot(f.key);
    // About 99,999 requests are left: 50,000 would leave fewer than it takes.
    assertNull(calls.take("allot:r:1", scope, new AllotmentCalls.Size(50_000, 10, 10, 0)).await());
    // About 9,999,000 tokens are left.
    assertNull(calls.take("allot:r:2", scope, new AllotmentCalls.Size(1, 5_000_000, 10, 0)).await());
    // About 1,000,000 micro-USD are available (less the first request's cost).
    assertNull(calls.take("allot:r:3", scope, new AllotmentCalls.Size(1, 10, 500_000, 0)).await());
    // Concurrency 200: 101 slots would leave fewer than 101.
    assertNull(calls.take("allot:r:4", scope, new AllotmentCalls.Size(101, 10, 10, 101)).await());
    assertEquals(before, f.snapshot(f.key), "nothing changed");
    assertNotNull(calls.take("allot:r:5", scope, new AllotmentCalls.Size(100, 10, 10, 100)).await(),
        "exactly half of the concurrency limit is granted");
    assertTrue(calls.end("allot:r:5", scope, 100, 10, 100).await());
  }

  @Test
  @DisplayName("no hot balance yet: refused (only an admission loads it)")
  void noBalance(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    AllotmentScope scope = new AllotmentScope(f.org, f.key, ORG, KEY);
    assertNull(f.limiter.allotments().take("allot:n:1", scope, new AllotmentCalls.Size(1, 1, 1, 0)).await());
    assertTrue(f.holds().isEmpty());
  }

  /** One request admitted and settled the usual way: the balance is loaded and the holds hash exists. */
  private AllotmentScope firstRequest() {
    AdmissionRequest r = f.request(f.key, ORG, KEY, 40, 60);
    assertTrue(f.admit(r).admitted());
    f.settle(f.usage(r, 40, 60));
    return AllotmentScope.of(r);
  }

  private static Bucket bucket(Bucket.Kind kind) {
    return new Bucket(Bucket.Scope.ORG, kind, Window.DAY);
  }
}
