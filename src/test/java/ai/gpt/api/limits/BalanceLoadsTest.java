package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Loading a missing hot balance ({@link BalanceLoads}): a load is stored only at the generation it was read at, so
 * one that a drop or an uncharged settlement overtook is read again; concurrent loads coalesce; a failing loader
 * fails the admission.
 */
@ExtendWith(VertxExtension.class)
class BalanceLoadsTest {
  private LimiterFixture f;

  @AfterEach
  void tearDown() {
    if (f != null) {
      f.close();
    }
  }

  @Test
  @DisplayName("a load that read the ledger before a credit or debit dropped the balance is not stored: reloaded")
  void staleLoadIsNotStored(Vertx vertx) {
    AtomicInteger loads = new AtomicInteger();
    f = LimiterFixture.start(vertx, LimiterSettings.defaults(), orgId -> {
      if (loads.incrementAndGet() > 1) {
        return Future.succeededFuture(500_000L); // the ledger after the change
      }
      // The first load reads the ledger (1,000,000), then a transfer commits and drops the balance before the
      // load's answer is stored, as debit_end_v1.lua does: it bumps the generation.
      return f.redis.send(Request.cmd(Command.INCR).arg(RedisKeys.balanceGeneration(orgId))).map(1_000_000L);
    });
    AdmissionResult r = f.admit(new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 1000));
    assertTrue(r.admitted());
    assertEquals(2, loads.get(), "the stale load was thrown away and the balance read again");
    assertEquals(500_000, f.balance());
  }

  @Test
  @DisplayName("a load that read the outbox before a request settled without a hot balance is not stored: reloaded")
  void loadMissingASettlementIsNotStored(Vertx vertx) {
    AtomicInteger loads = new AtomicInteger();
    AtomicReference<AdmissionRequest> inFlight = new AtomicReference<>();
    AtomicLong cost = new AtomicLong();
    f = LimiterFixture.start(vertx, LimiterSettings.defaults(), orgId -> {
      if (loads.incrementAndGet() > 1) {
        return Future.succeededFuture(1_000_000L - cost.get()); // the ledger net of the outbox, read again
      }
      // The first load has read the outbox (empty) and the ledger (1,000,000); before its answer is stored, a request
      // admitted before the balance was dropped settles. No hot balance to charge: only the outbox has its cost.
      SettledUsage u = f.usage(inFlight.get(), 400, 300);
      cost.set(u.costMicros());
      return f.limiter.settle(u).map(res -> {
        f.track(res);
        assertNull(res.balanceAfterMicros(), "settled without a hot balance");
        return 1_000_000L;
      });
    });
    f.setBalance(1_000_000);
    inFlight.set(new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 400, 1000));
    assertTrue(f.admit(inFlight.get()).admitted());
    HotBalances.drop(f.redis, f.org, LimiterSettings.defaults().balanceTtlMs()).await(); // a gateway's start, say

    AdmissionResult next = f.admit(new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 1000));

    assertTrue(next.admitted());
    assertEquals(2, loads.get(), "the load that missed the settlement was thrown away and the balance read again");
    assertEquals(1_000_000 - cost.get(), f.balance(), "the settled request's cost counted once");
  }

  @Test
  @DisplayName("a balance whose loads keep being overtaken for a moment (a busy organization just after a drop) is "
      + "still loaded: later reloads wait a little, for up to two seconds")
  void loadsOvertakenForAMoment(Vertx vertx) {
    AtomicInteger loads = new AtomicInteger();
    f = LimiterFixture.start(vertx, LimiterSettings.defaults(), orgId -> {
      if (loads.incrementAndGet() > 12) {
        return Future.succeededFuture(700_000L);
      }
      // Overtaken: a settlement without a hot balance bumps the generation before this load is stored.
      return f.redis.send(Request.cmd(Command.INCR).arg(RedisKeys.balanceGeneration(orgId))).map(1_000_000L);
    });
    long start = System.nanoTime();
    AdmissionResult r = f.admit(new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 1000));
    long ms = (System.nanoTime() - start) / 1_000_000;
    assertTrue(r.admitted());
    assertEquals(13, loads.get());
    assertEquals(700_000, f.balance());
    assertTrue(ms >= 300 && ms < 2_000, "the later reloads were spaced out: " + ms + " ms");
  }

  @Test
  @DisplayName("a missing balance is loaded once (concurrent first requests coalesce), stored, then used")
  void balanceLoading(Vertx vertx) {
    AtomicInteger loads = new AtomicInteger();
    f = LimiterFixture.start(vertx, LimiterSettings.defaults(), orgId -> {
      loads.incrementAndGet();
      // As a PostgreSQL read: answered later, while the other first requests wait for the same load.
      return vertx.timer(50).map(50_000L);
    });
    List<Future<AdmissionResult>> all = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      all.add(f.limiter.admit(new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 1000)));
    }
    Future.join(all).await();
    all.forEach(r -> assertTrue(r.result().admitted()));
    // Coalesced: one load, or rarely two (a call whose "no_balance" answer arrives just after the first load
    // finished starts another; the generation check makes it harmless). Uncoalesced, 20 calls would load about 20 times.
    assertTrue(loads.get() <= 2, "loads: " + loads.get());
    int loaded = loads.get();
    assertEquals(50_000, f.balance());
    assertTrue(f.pttl(RedisKeys.balance(f.org)) > 0, "the loaded balance has a TTL");
    assertEquals("20000", f.holds().get("_total"));
    f.admit(new AdmissionRequest(f.newRequestId(), f.org, f.key, null, null, 10, 1000));
    assertEquals(loaded, loads.get(), "loaded only when missing");
  }

  @Test
  @DisplayName("a failing balance loader fails the admission and consumes nothing")
  void balanceLoaderFails(Vertx vertx) {
    f = LimiterFixture.start(vertx, LimiterSettings.defaults());
    Limits key = Limits.builder().rpm(5).concurrency(1).build();
    Map<String, Object> before = f.snapshot(f.key);
    AdmissionRequest r = f.request(f.key, Limits.UNLIMITED, key, 1, 1);
    assertThrows(Exception.class, () -> f.admit(r));
    assertEquals(before, f.snapshot(f.key));
    assertNull(f.balance());
  }
}
