package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.billing.Money;
import ai.gpt.api.limits.AdmissionResult.Outcome;
import ai.gpt.api.testing.Sleep;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@ExtendWith(VertxExtension.class)
class AdmissionTest {
  /** Shortened, distinct windows so each limit's refill can be watched and told apart. */
  static final LimiterSettings SHORT = LimiterSettings.defaults().withWindows(1500, 2100, 2700);
  static final long RICH = 1_000_000_000L;

  private LimiterFixture f;

  @AfterEach
  void tearDown() {
    if (f != null) {
      f.close();
    }
  }

  static Stream<Arguments> everyBucket() {
    return Admission.ALL_BUCKETS.stream().map(b -> Arguments.of(b.label(), b));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("everyBucket")
  @DisplayName("each window of each limit trips at its capacity and refills one unit per W/C, continuously")
  void tripsAndRefills(String label, Bucket bucket, Vertx vertx) throws InterruptedException {
    f = LimiterFixture.start(vertx, SHORT);
    f.setBalance(RICH);
    boolean tokens = bucket.kind() == Bucket.Kind.TOKENS;
    long capacity = tokens ? 300 : 3;         // tokens: 3 requests of 40 + 60 = 100 tokens
    Limits only = Limits.builder().set(bucket.kind(), bucket.window(), capacity).build();
    Limits orgLimits = bucket.scope() == Bucket.Scope.ORG ? only : Limits.UNLIMITED;
    Limits keyLimits = bucket.scope() == Bucket.Scope.KEY ? only : Limits.UNLIMITED;
    long w = SHORT.windowMs(bucket.window());
    long perRequestMs = w / 3;
    // An org bucket is shared by all keys of the org: alternate keys to show it.
    long[] keys = bucket.scope() == Bucket.Scope.ORG ? new long[] {f.key, f.key + 1} : new long[] {f.key};

    long start = System.nanoTime();
    for (int i = 0; i < 3; i++) {
      AdmissionResult ok = f.admit(f.request(keys[i % keys.length], orgLimits, keyLimits, 40, 60));
      assertEquals(Outcome.ADMITTED, ok.outcome(), "request " + (i + 1));
      WindowState state = tokens ? ok.tokens() : ok.requests();
      assertEquals(bucket, state.bucket());
      assertEquals(capacity, state.limit());
      long expected = tokens ? 200 - 100 * i : 2 - i;
      // Tokens refill by the token (a fifth of one per ms or less), so some come back between calls.
      long drift = tokens ? (System.nanoTime() - start) / 1_000_000 * capacity / w + 1 : 0;
      assertTrue(state.remaining() >= expected && state.remaining() <= expected + drift,
          "remaining " + state.remaining() + ", expected " + expected + " + at most " + drift);
      assertNull(tokens ? ok.requests() : ok.tokens(), "the other kind is unlimited");
    }
    long noSent = System.nanoTime();
    AdmissionResult no = f.admit(f.request(keys[0], orgLimits, keyLimits, 40, 60));
    long noDone = System.nanoTime();
    long elapsed = (noDone - start) / 1_000_000;
    assertEquals(Outcome.RATE_LIMITED, no.outcome());
    assertEquals(bucket, no.tripped());
    assertEquals(label, no.trippedWindow());
    assertTrue(no.retryAfterMs() <= perRequestMs && no.retryAfterMs() >= perRequestMs - elapsed - 5,
        "retry after " + no.retryAfterMs() + " ms, one unit refills in " + perRequestMs + " ms");
    // Tokens refill fast here (a third of a token per ms): less than one request's worth is left.
    assertTrue((tokens ? no.tokens() : no.requests()).remaining() < (tokens ? 100 : 1));

    if (bucket.scope() == Bucket.Scope.KEY) {
      assertTrue(f.admit(f.request(f.key + 1, orgLimits, keyLimits, 40, 60)).admitted(), "another key has its own");
    }

    // Half a unit later: still refused, and the wait left has halved (continuous refill at C/W).
    // Redis saw the two calls between these client-side instants, so the wait must have shrunk by that much.
    Thread.sleep(no.retryAfterMs() / 2);
    long halfSent = System.nanoTime();
    AdmissionResult half = f.admit(f.request(keys[0], orgLimits, keyLimits, 40, 60));
    long halfDone = System.nanoTime();
    assertEquals(Outcome.RATE_LIMITED, half.outcome());
    long minGap = (halfSent - noDone) / 1_000_000;
    long maxGap = (halfDone - noSent) / 1_000_000 + 1;
    assertTrue(half.retryAfterMs() >= no.retryAfterMs() - maxGap - 2
            && half.retryAfterMs() <= no.retryAfterMs() - minGap + 2,
        "retry after " + half.retryAfterMs() + " ms, expected " + no.retryAfterMs() + " minus " + minGap + ".."
            + maxGap + " ms");

    // Once the unit has refilled: exactly one more request, not two.
    Thread.sleep(half.retryAfterMs() + 15);
    assertTrue(f.admit(f.request(keys[0], orgLimits, keyLimits, 40, 60)).admitted(), "one unit refilled");
    assertEquals(Outcome.RATE_LIMITED, f.admit(f.request(keys[0], orgLimits, keyLimits, 40, 60)).outcome(),
        "only one unit refilled");
  }

  @Test
  @DisplayName("production windows: per minute, hour and day refill at capacity / 60 s, 1 h, 24 h")
  void realWindows(Vertx vertx) throws InterruptedException {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(RICH);
    // 120 requests per minute: one per 500 ms.
    Limits rpm = Limits.builder().rpm(120).build();
    // The bucket refills while the burst runs, so a slow (loaded) machine earns one more admission per 500 ms it
    // takes: the burst admits 120 plus exactly what the elapsed time refilled, never more.
    long started = System.nanoTime();
    int admitted = 0;
    AdmissionResult no;
    while ((no = f.admit(f.request(f.key, Limits.UNLIMITED, rpm, 1, 1))).admitted()) {
      admitted++;
      assertTrue(admitted <= 120 + (System.nanoTime() - started) / 500_000_000L + 1, "admitted " + admitted);
    }
    assertTrue(admitted >= 120, "admitted " + admitted);
    assertEquals("requests per minute (key)", no.trippedWindow());
    assertTrue(no.retryAfterMs() > 0 && no.retryAfterMs() <= 500, "retry after " + no.retryAfterMs());
    Thread.sleep(no.retryAfterMs() + 10);
    assertTrue(f.admit(f.request(f.key, Limits.UNLIMITED, rpm, 1, 1)).admitted());

    // Tokens: each limit sized to refill 100 tokens per second in its own window.
    Limits[] windows = {
        Limits.builder().tpm(6_000).build(),
        Limits.builder().tph(360_000).build(),
        Limits.builder().tpd(8_640_000).build()};
    String[] names = {"tokens per minute (org)", "tokens per hour (org)", "tokens per day (org)"};
    for (int i = 0; i < windows.length; i++) {
      long capacity = windows[i].get(Bucket.Kind.TOKENS, Window.values()[i]);
      assertTrue(f.admit(f.request(f.key, windows[i], Limits.UNLIMITED, capacity - 1000, 1000)).admitted());
      AdmissionResult full = f.admit(f.request(f.key, windows[i], Limits.UNLIMITED, 10, 40));
      assertEquals(names[i], full.trippedWindow());
      // 50 tokens at 100 tokens/s: 500 ms.
      assertTrue(full.retryAfterMs() > 300 && full.retryAfterMs() <= 500, names[i] + ": " + full.retryAfterMs());
      assertEquals(capacity, full.tokens().limit());
      assertTrue(Math.abs(full.tokens().resetMs() - capacity * 10) <= 300, "reset " + full.tokens().resetMs());
      Thread.sleep(full.retryAfterMs() + 10);
      assertTrue(f.admit(f.request(f.key, windows[i], Limits.UNLIMITED, 10, 40)).admitted(), names[i]);
    }
  }

  @Test
  @DisplayName("a rejected request consumes nothing: levels, holds, leases and balance are unchanged")
  void rejectionConsumesNothing(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(100_000);
    Limits org = new Limits(100L, 1000L, 10_000L, 5_000L, 50_000L, 500_000L, null);
    Limits key = new Limits(50L, 500L, 5_000L, 3_000L, 30_000L, 300_000L, 2);
    AdmissionRequest first = f.request(f.key, org, key, 500, 1500);
    assertTrue(f.admit(first).admitted());
    for (Bucket b : Admission.ALL_BUCKETS) {
      long ttl = f.pttl(f.bucketKey(f.key, b));
      long capacity = (b.scope() == Bucket.Scope.ORG ? org : key).get(b.kind(), b.window());
      double untilFull = (capacity - f.level(f.key, b)) * b.window().defaultMillis() / capacity;
      assertTrue(ttl >= untilFull + b.window().defaultMillis() - 1000,
          b.label() + " lives until full plus one window: TTL " + ttl + ", full in " + untilFull);
    }
    for (String k : List.of(RedisKeys.balance(f.org), RedisKeys.holds(f.org), RedisKeys.holdExpiries(f.org),
        RedisKeys.concurrency(f.org, f.key), RedisKeys.request(f.org, first.requestId()))) {
      assertTrue(f.pttl(k) > 0, k + " has a TTL");
    }

    // Rate limit: 500 more tokens than the key's tokens per minute has left (10 s of refill).
    Map<String, Object> before = f.snapshot(f.key);
    AdmissionRequest tooMany = f.request(f.key, org, key, 1, 1499);
    AdmissionResult r1 = f.admit(tooMany);
    assertEquals(Outcome.RATE_LIMITED, r1.outcome());
    assertEquals("tokens per minute (key)", r1.trippedWindow());
    assertEquals(before, f.snapshot(f.key));
    assertFalse(f.exists(RedisKeys.request(f.org, tooMany.requestId())));

    // Insufficient quota: a hold larger than what is available.
    AdmissionRequest expensive = new AdmissionRequest(f.newRequestId(), f.org, f.key, org, key, 10,
        r1.availableMicros() + 1);
    AdmissionResult r2 = f.admit(expensive);
    assertEquals(Outcome.INSUFFICIENT_QUOTA, r2.outcome());
    assertEquals(before, f.snapshot(f.key));

    // Concurrency: the second slot is taken, then the third request is refused.
    assertTrue(f.admit(f.request(f.key, org, key, 10, 10)).admitted());
    before = f.snapshot(f.key);
    AdmissionResult r3 = f.admit(f.request(f.key, org, key, 10, 10));
    assertEquals(Outcome.CONCURRENCY_LIMITED, r3.outcome());
    assertEquals(1000, r3.retryAfterMs());
    assertEquals(before, f.snapshot(f.key));
  }

  @Test
  @DisplayName("headers report the tightest request window and the tightest token window")
  void headers(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(RICH);
    Limits org = Limits.builder().rpm(10).rpd(1000).tpm(10_000).tpd(1_000_000).build();
    Limits key = Limits.builder().rpm(5).tph(100_000).build();
    AdmissionResult ok = f.admit(f.request(f.key, org, key, 200, 800));
    assertTrue(ok.admitted());
    assertEquals(new Bucket(Bucket.Scope.KEY, Bucket.Kind.REQUESTS, Window.MINUTE), ok.requests().bucket());
    assertEquals(5, ok.requests().limit());
    assertEquals(4, ok.requests().remaining());
    assertTrue(Math.abs(ok.requests().resetMs() - 12_000) <= 5, "reset " + ok.requests().resetMs());
    assertEquals(new Bucket(Bucket.Scope.ORG, Bucket.Kind.TOKENS, Window.MINUTE), ok.tokens().bucket());
    assertEquals(10_000, ok.tokens().limit());
    assertEquals(9_000, ok.tokens().remaining());
    assertTrue(Math.abs(ok.tokens().resetMs() - 6_000) <= 5, "reset " + ok.tokens().resetMs());
    Map<String, String> h = headers(ok);
    assertEquals(List.of("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
        List.copyOf(h.keySet()));
    assertEquals("4", h.get("x-ratelimit-remaining-requests"));
    assertTrue(h.get("x-ratelimit-reset-requests").matches("1[12](\\.\\d+)?s"), h.get("x-ratelimit-reset-requests"));
    assertEquals(Map.of(), headers(f.admit(f.request(f.key, Limits.UNLIMITED, Limits.UNLIMITED, 1, 1))));
  }

  private static Map<String, String> headers(AdmissionResult result) {
    Map<String, String> h = new LinkedHashMap<>();
    result.rateLimitHeaders((name, value) -> h.put(name.toString(), value));
    return h;
  }

  @Test
  @DisplayName("concurrency is limited per key; settling or an expired lease frees the slot")
  void concurrencyPerKey(Vertx vertx) throws InterruptedException {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults().withReservationTtlMs(400));
    f.setBalance(RICH);
    Limits two = Limits.builder().concurrency(2).build();
    AdmissionRequest a = f.request(f.key, Limits.UNLIMITED, two, 10, 10);
    assertTrue(f.admit(a).admitted());
    assertTrue(f.admit(f.request(f.key, Limits.UNLIMITED, two, 10, 10)).admitted());
    assertEquals(Outcome.CONCURRENCY_LIMITED, f.admit(f.request(f.key, Limits.UNLIMITED, two, 10, 10)).outcome());
    assertEquals(2, f.zrange(RedisKeys.concurrency(f.org, f.key)).size());
    assertTrue(f.admit(f.request(f.key + 1, Limits.UNLIMITED, two, 10, 10)).admitted(), "other key, own slots");

    assertEquals(SettleResult.Outcome.SETTLED, f.settle(f.usage(a, 10, 5)).outcome());
    assertTrue(f.admit(f.request(f.key, Limits.UNLIMITED, two, 10, 10)).admitted(), "settled one freed a slot");
    assertEquals(Outcome.CONCURRENCY_LIMITED, f.admit(f.request(f.key, Limits.UNLIMITED, two, 10, 10)).outcome());

    // Requests that never settle (their gateway died) give their slot and hold back when the reservation expires.
    long heldBefore = Long.parseLong(f.holds().get("_total"));
    assertTrue(heldBefore > 0);
    Thread.sleep(450);
    assertTrue(f.admit(f.request(f.key, Limits.UNLIMITED, two, 10, 10)).admitted(), "expired leases dropped");
    Map<String, String> holds = f.holds();
    assertEquals(2, holds.size(), "only the new hold and _total remain: " + holds);
    assertEquals(Money.requestCost(10, 10, LimiterFixture.IN_PRICE, LimiterFixture.OUT_PRICE),
        Long.parseLong(holds.get("_total")));
  }

  @Test
  @DisplayName("expired holds are swept at most once a second: until then they only keep credit unavailable; "
      + "then the hold is released and an expired debit hold drops the balance, which is reloaded")
  void delayedSweep(Vertx vertx) {
    AtomicInteger loads = new AtomicInteger();
    f = LimiterFixture.start(vertx, LimiterSettings.defaults(), orgId -> {
      loads.incrementAndGet();
      return Future.succeededFuture(700_000L); // the ledger: the crashed debit did commit
    });
    f.setBalance(1_000_000);
    AdmissionRequest first = new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 1000);
    assertTrue(f.admit(first).admitted(), "looked for expired holds, and stamped the next look a second ahead");
    // A request and a debit whose gateways died after placing their holds, which have expired since.
    f.abandonedHold("req-abandoned", 100_000, 1);
    f.abandonedHold("debit:crashed", 200_000, 1);

    AdmissionRequest soon = new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 1000);
    AdmissionResult beforeSweep = f.admit(soon);
    assertTrue(beforeSweep.admitted());
    assertEquals(1_000_000 - 1000 - 300_000, beforeSweep.availableMicros(), "not swept yet: still held");
    assertEquals(1_000_000, f.balance());
    assertEquals(0, loads.get());

    Sleep.ms(1_100);
    AdmissionRequest later = new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 1000);
    AdmissionResult afterSweep = f.admit(later);
    assertTrue(afterSweep.admitted());
    assertEquals(1, loads.get(), "the expired debit hold dropped the hot balance: reloaded from the ledger");
    assertEquals(700_000 - 2000, afterSweep.availableMicros(), "both expired holds released");
    assertEquals(700_000, f.balance());
    assertEquals(Map.of("_total", "3000", first.requestId(), "1000", soon.requestId(), "1000",
        later.requestId(), "1000"), f.holds());
    assertEquals(List.of(first.requestId(), soon.requestId(), later.requestId()).stream().sorted().toList(),
        List.copyOf(f.zrange(RedisKeys.holdExpiries(f.org)).keySet()));
  }

  @Test
  @DisplayName("insufficient balance → insufficient_quota; a zero-cost request still needs a positive balance")
  void insufficientQuota(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(1000);
    AdmissionRequest a = new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 600);
    assertTrue(f.admit(a).admitted());
    AdmissionResult no = f.admit(new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 600));
    assertEquals(Outcome.INSUFFICIENT_QUOTA, no.outcome());
    assertEquals(400, no.availableMicros());
    assertEquals(-1, no.retryAfterMs());
    assertTrue(f.admit(new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 400)).admitted());
    assertEquals(Outcome.INSUFFICIENT_QUOTA,
        f.admit(new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 0)).outcome());
    assertEquals(1000, f.balance(), "holds do not change the balance");
  }

  @Test
  @DisplayName("200 concurrent admissions against a balance for exactly N holds admit exactly N; "
      + "settling them all leaves the balance exact to the micro-dollar")
  void concurrentHolds(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    long hold = Money.requestCost(1000, 4000, LimiterFixture.IN_PRICE, LimiterFixture.OUT_PRICE); // 2250
    int n = 37;
    long initial = n * hold;
    f.setBalance(initial);
    Limits key = Limits.builder().rpm(10_000).tpm(10_000_000).build();
    List<AdmissionRequest> requests = new ArrayList<>();
    List<Future<AdmissionResult>> results = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      AdmissionRequest r = f.request(f.key, Limits.UNLIMITED, key, 1000, 4000);
      requests.add(r);
    }
    for (AdmissionRequest r : requests) {
      results.add(f.limiter.admit(r));
    }
    Future.join(results).await();
    List<AdmissionRequest> admitted = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      AdmissionResult res = results.get(i).result();
      if (res.admitted()) {
        admitted.add(requests.get(i));
      } else {
        assertEquals(Outcome.INSUFFICIENT_QUOTA, res.outcome());
      }
    }
    assertEquals(n, admitted.size());
    assertEquals(String.valueOf(initial), f.holds().get("_total"));

    // Settle all at once with varied real usage (some less than reserved, some all of it, one nothing).
    long charged = 0;
    List<Future<SettleResult>> settles = new ArrayList<>();
    for (int i = 0; i < admitted.size(); i++) {
      SettledUsage u = f.usage(admitted.get(i), 1000 - i * 7, i == 0 ? 0 : (i * 977) % 4001);
      charged += u.costMicros();
      settles.add(f.limiter.settle(u));
    }
    Future.join(settles).await();
    settles.forEach(s -> {
      assertEquals(SettleResult.Outcome.SETTLED, s.result().outcome());
      f.track(s.result());
    });
    assertEquals(initial - charged, f.balance(), "exact to the micro-dollar");
    assertEquals(Map.of("_total", "0"), f.holds());
    assertEquals(Map.of(), f.zrange(RedisKeys.holdExpiries(f.org)));
  }

  @Test
  @DisplayName("a request id cannot be admitted twice, nor after it was settled")
  void duplicateAdmission(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(RICH);
    AdmissionRequest r = f.request(f.key, Limits.UNLIMITED, Limits.UNLIMITED, 10, 10);
    assertTrue(f.admit(r).admitted());
    Map<String, Object> before = f.snapshot(f.key);
    assertThrows(IllegalStateException.class, () -> f.admit(r));
    assertEquals(before, f.snapshot(f.key));
    f.settle(f.usage(r, 10, 10));
    assertThrows(IllegalStateException.class, () -> f.admit(r));
    assertNotNull(f.holds().get("_total"));
    assertEquals(1, f.holds().size());
  }

  @Test
  @DisplayName("a request larger than a window's whole capacity is refused with no retry time")
  void tooLarge(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(RICH);
    AdmissionResult r = f.admit(f.request(f.key, Limits.builder().tpm(1000).build(), Limits.UNLIMITED, 500, 501));
    assertEquals(Outcome.RATE_LIMITED, r.outcome());
    assertTrue(r.requestTooLarge());
    assertEquals("tokens per minute (org)", r.trippedWindow());
  }
}
