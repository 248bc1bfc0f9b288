package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.billing.Money;
import ai.gpt.api.testing.Sleep;
import ai.gpt.api.usage.UsageRecord;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class SettlementTest {
  static final Bucket ORG_TPM = new Bucket(Bucket.Scope.ORG, Bucket.Kind.TOKENS, Window.MINUTE);
  static final Bucket KEY_TPD = new Bucket(Bucket.Scope.KEY, Bucket.Kind.TOKENS, Window.DAY);

  private LimiterFixture f;

  @AfterEach
  void tearDown() {
    if (f != null) {
      f.close();
    }
  }

  @Test
  @DisplayName("a settlement replayed twice charges once and emits one usage event")
  void replay(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(1_000_000);
    AdmissionRequest r = f.request(f.key, Limits.UNLIMITED, Limits.builder().concurrency(1).build(), 100, 1000);
    assertTrue(f.admit(r).admitted());
    SettledUsage u = f.usage(r, 100, 321);
    SettleResult first = f.settle(u);
    assertEquals(SettleResult.Outcome.SETTLED, first.outcome());
    assertEquals(1_000_000 - u.costMicros(), first.balanceAfterMicros());
    assertTrue(first.reservationFound());
    SettleResult again = f.settle(u);
    assertTrue(again.duplicate());
    assertNull(again.outboxEntryId());
    assertEquals(1_000_000 - u.costMicros(), f.balance());
    assertEquals(1, f.events(r.requestId()).size());
    long ttl = f.pttl(RedisKeys.request(f.org, r.requestId()));
    assertTrue(ttl > 3_590_000 && ttl <= 3_600_000, "settled marker lives 1 h: " + ttl);
    assertEquals("53", f.raw(RedisKeys.request(f.org, r.requestId())), "the reservation is replaced by \"S\"");

    // Two replays racing each other: still one charge.
    AdmissionRequest r2 = f.request(f.key, Limits.UNLIMITED, Limits.UNLIMITED, 100, 1000);
    assertTrue(f.admit(r2).admitted());
    SettledUsage u2 = f.usage(r2, 100, 999);
    List<Future<SettleResult>> racing = List.of(f.limiter.settle(u2), f.limiter.settle(u2), f.limiter.settle(u2));
    Future.join(racing).await();
    racing.forEach(s -> f.track(s.result()));
    assertEquals(1, racing.stream().filter(s -> !s.result().duplicate()).count());
    assertEquals(1_000_000 - u.costMicros() - u2.costMicros(), f.balance());
    assertEquals(1, f.events(r2.requestId()).size());
  }

  @Test
  @DisplayName("unused reserved tokens are given back, an excess is taken (level may go negative)")
  void tokensGivenBack(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(1_000_000_000L);
    Limits org = Limits.builder().tpm(10_000).build();
    Limits key = Limits.builder().tpd(1_000_000).build();
    AdmissionRequest r = f.request(f.key, org, key, 200, 800);
    assertTrue(f.admit(r).admitted());
    assertEquals(9_000, f.level(f.key, ORG_TPM), 1.0);
    assertEquals(999_000, f.level(f.key, KEY_TPD), 1.0);
    f.settle(f.usage(r, 180, 120)); // 300 of 1000 used
    // 700 back, plus what refilled meanwhile (10000 / 60 s = 1 token per 6 ms; 1e6 / 24 h much less).
    assertEquals(9_700, f.level(f.key, ORG_TPM), 50.0);
    assertEquals(999_700, f.level(f.key, KEY_TPD), 1.0);
    assertEquals(Map.of("_total", "0"), f.holds());

    // Used more than reserved: the excess is taken.
    AdmissionRequest big = f.request(f.key, org, key, 100, 900);
    assertTrue(f.admit(big).admitted());
    double beforeSettle = f.level(f.key, ORG_TPM);
    f.settle(f.usage(big, 100, 2900)); // 3000 used, 1000 reserved
    assertEquals(beforeSettle - 2000, f.level(f.key, ORG_TPM), 50.0);

    // Far more than the bucket holds: the level goes negative, and the next request waits for it.
    AdmissionRequest huge = f.request(f.key, org, key, 100, 900);
    assertTrue(f.admit(huge).admitted());
    f.settle(f.usage(huge, 100, 29_900));
    double level = f.level(f.key, ORG_TPM);
    assertTrue(level < -15_000, "level " + level);
    AdmissionResult wait = f.admit(f.request(f.key, org, key, 10, 90));
    assertEquals("tokens per minute (org)", wait.trippedWindow());
    // From ~-16,700 up to 100 at 1 token per 6 ms: about 100 s.
    assertEquals((100 - level) * 6, wait.retryAfterMs(), 500.0);
    long ttl = f.pttl(f.bucketKey(f.key, ORG_TPM));
    assertTrue(ttl > (10_000 - level) * 6, "the bucket lives until it is full again: " + ttl);
  }

  @Test
  @DisplayName("given-back tokens never lift a bucket above its capacity")
  void capped(Vertx vertx) throws InterruptedException {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults().withWindows(200, 3_600_000, 86_400_000));
    f.setBalance(1_000_000_000L);
    Limits org = Limits.builder().tpm(1000).build();
    AdmissionRequest r = f.request(f.key, org, Limits.UNLIMITED, 100, 900);
    assertTrue(f.admit(r).admitted());
    Thread.sleep(300); // fully refilled
    f.settle(f.usage(r, 0, 0));
    assertEquals(1000, f.level(f.key, ORG_TPM), 0.0);
  }

  @Test
  @DisplayName("the usage event is request_id, org_id, the packed usage and ts_ms from Redis TIME, and parses back to "
      + "the settlement; its copy in the shard stream is field for field the same, plus the outbox id")
  void eventFormat(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(1_000_000);
    AdmissionRequest r = f.request(f.key, Limits.UNLIMITED, Limits.UNLIMITED, 50, 100);
    assertTrue(f.admit(r).admitted());
    // A model id may hold a comma: it is the usage value's last part.
    SettledUsage u = new SettledUsage(r.requestId(), f.org, f.key, "gpt-full,v2", 42, "/v1/completions", 48, 77, 16,
        Money.requestCost(48, 77, 500_000, 1_000_000), 499, true, 1234, 56);
    SettleResult res = f.settle(u);
    Map<String, Map<String, String>> events = f.events(r.requestId());
    assertEquals(List.of(res.outboxEntryId()), List.copyOf(events.keySet()));
    Map<String, String> e = events.get(res.outboxEntryId());
    assertEquals(List.of("request_id", "org_id", "usage", "ts_ms"), List.copyOf(e.keySet()));
    assertEquals(String.valueOf(f.org), e.get("org_id"));
    // ceil(48 * 0.5) + ceil(77 * 1.0) = 24 + 77
    assertEquals(f.key + ",42,/v1/completions,48,77,16,101,499,1,1234,56,gpt-full,v2", e.get("usage"));
    long ts = Long.parseLong(e.get("ts_ms"));
    assertEquals(UsageRecord.settled(u, ts), UsageRecord.parse(e, 0));
    assertTrue(Math.abs(ts - System.currentTimeMillis()) < 5_000, "ts_ms " + ts);
    assertEquals(ts, Long.parseLong(res.outboxEntryId().split("-")[0]), 1000.0);

    Map<String, String> copy = null;
    for (int i = 0; i < 50 && copy == null; i++) { // the copy is made without the settlement waiting for it
      copy = f.shardCopies(r.requestId()).values().stream().findFirst().orElse(null);
      Sleep.ms(20);
    }
    assertNotNull(copy, "copied to the shard stream");
    Map<String, String> expected = new LinkedHashMap<>(e);
    expected.put("outbox_id", res.outboxEntryId());
    assertEquals(expected, copy);
    assertEquals(List.copyOf(expected.keySet()), List.copyOf(copy.keySet()), "in the same order");
  }

  @Test
  @DisplayName("a settlement whose reservation expired still charges and emits; a missing balance is not created")
  void withoutReservation(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(10_000);
    String id = f.newRequestId();
    SettledUsage u = new SettledUsage(id, f.org, f.key, "gpt-fast", 1, "/v1/chat/completions", 100, 100, 0, 75, 200,
        false, 10, 5);
    SettleResult res = f.settle(u);
    assertEquals(SettleResult.Outcome.SETTLED, res.outcome());
    assertFalse(res.reservationFound());
    assertEquals(9_925, res.balanceAfterMicros());
    assertEquals(1, f.events(id).size());

    f.send(Request.cmd(Command.DEL).arg(RedisKeys.balance(f.org)));
    SettledUsage v = new SettledUsage(f.newRequestId(), f.org, f.key, "gpt-fast", 1, "/v1/chat/completions", 1, 1,
        0, 5, 200, false, 10, 5);
    SettleResult res2 = f.settle(v);
    assertNull(res2.balanceAfterMicros());
    assertNull(f.balance(), "PostgreSQL's ledger takes the debit; Redis reloads the balance later");
    assertEquals(1, f.events(v.requestId()).size());
  }

  @Test
  @DisplayName("a request admitted from an allotment settles without looking for a hold or lease of its own; one "
      + "without a reservation that was not releases what it finds under its id")
  void allottedSettlement(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(10_000);
    String allotted = f.newRequestId();
    String expired = f.newRequestId();
    // A hold and a lease under each id, as a request whose reservation expired would have left.
    for (String id : List.of(allotted, expired)) {
      f.abandonedHold(id, 300, System.currentTimeMillis() + 60_000);
      f.send(Request.cmd(Command.ZADD).arg(RedisKeys.concurrency(f.org, f.key))
          .arg(System.currentTimeMillis() + 60_000).arg(id));
    }

    SettleResult a = f.limiter.settle(f.usage(new AdmissionRequest(allotted, f.org, f.key, null, null, 1, 1), 1, 1),
        true).await();
    f.track(a);
    SettleResult b = f.limiter.settle(f.usage(new AdmissionRequest(expired, f.org, f.key, null, null, 1, 1), 1, 1),
        false).await();
    f.track(b);

    assertEquals(SettleResult.Outcome.SETTLED, a.outcome());
    assertEquals(1, f.events(allotted).size(), "charged and its event appended all the same");
    Map<String, String> holds = f.holds();
    assertEquals("300", holds.get(allotted), "not looked for");
    assertFalse(holds.containsKey(expired), "released");
    assertEquals("300", holds.get("_total"));
    Map<String, String> leases = f.zrange(RedisKeys.concurrency(f.org, f.key));
    assertTrue(leases.containsKey(allotted) && !leases.containsKey(expired), leases.toString());
  }

  @Test
  @DisplayName("an allotted request whose event cannot be appended is not marked settled: it settles when retried")
  void allottedEventFailureTakesTheMarkerBack(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(10_000);
    String id = f.newRequestId();
    SettledUsage u = f.usage(new AdmissionRequest(id, f.org, f.key, null, null, 1, 1), 1, 1);
    // The outbox is not a stream: the XADD fails (WRONGTYPE) after the marker was set (SET ... GET comes first).
    f.send(Request.cmd(Command.SET).arg(RedisKeys.outbox(f.org)).arg("not a stream"));
    Throwable e = assertThrows(Throwable.class, () -> f.limiter.settle(u, true).await());
    assertTrue(e.getMessage().contains("WRONGTYPE"), e.getMessage());
    assertFalse(f.exists(RedisKeys.request(f.org, id)), "the marker was taken back");
    assertEquals(10_000L, f.balance(), "nothing charged");

    f.send(Request.cmd(Command.DEL).arg(RedisKeys.outbox(f.org)));
    SettleResult retried = f.limiter.settle(u, true).await();
    f.track(retried);
    assertEquals(SettleResult.Outcome.SETTLED, retried.outcome(), "settled on the retry, not a duplicate");
    assertEquals(1, f.events(id).size());
  }

  @Test
  @DisplayName("a settlement naming another org's or key's reservation is refused and changes nothing")
  void mismatch(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(10_000);
    AdmissionRequest r = f.request(f.key, Limits.builder().tpm(1000).build(), Limits.UNLIMITED, 10, 10);
    assertTrue(f.admit(r).admitted());
    Map<String, Object> before = f.snapshot(f.key, f.key + 1);
    SettledUsage wrongKey = new SettledUsage(r.requestId(), f.org, f.key + 1, "gpt-fast", 1, "/v1/chat/completions",
        1, 1, 0, 1, 200, false, 1, 1);
    Throwable e = assertThrows(Throwable.class, () -> f.settle(wrongKey));
    assertTrue(e.getMessage().contains("GPTAPI_MISMATCH"), e.getMessage());
    assertEquals(before, f.snapshot(f.key, f.key + 1));
    assertTrue(f.exists(RedisKeys.request(f.org, r.requestId())));
    assertEquals(0, f.events(r.requestId()).size());
  }

  @Test
  @DisplayName("after SCRIPT FLUSH (NOSCRIPT) both scripts are reloaded and calls succeed")
  void noScript(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    f.setBalance(10_000);
    f.send(Request.cmd(Command.SCRIPT).arg("FLUSH"));
    String admitSha = RedisScript.load(vertx, f.redis, Admission.SCRIPT).await().sha();
    f.send(Request.cmd(Command.SCRIPT).arg("FLUSH"));
    AdmissionRequest r = f.request(f.key, Limits.UNLIMITED, Limits.UNLIMITED, 10, 10);
    assertTrue(f.admit(r).admitted());
    assertEquals(SettleResult.Outcome.SETTLED, f.settle(f.usage(r, 10, 10)).outcome());
    assertEquals(1, f.send(Request.cmd(Command.SCRIPT).arg("EXISTS").arg(admitSha)).get(0).toInteger(),
        "the script is cached again, so the next call is a plain EVALSHA");
  }
}
