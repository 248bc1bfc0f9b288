package ai.gpt.api.metering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The gate's rules, with calls that complete when the test says so (no Redis needed to count slots). */
class RedisCallGateTest {
  private final List<String> sent = new ArrayList<>();
  private final List<Promise<String>> replies = new ArrayList<>();

  private Future<String> call(String name) {
    sent.add(name);
    Promise<String> reply = Promise.promise();
    replies.add(reply);
    return reply.future();
  }

  @Test
  @DisplayName("beyond the in-flight bound calls wait; a freed slot goes to a waiting settlement before admissions")
  void settlementsFirst() {
    RedisCallGate gate = new RedisCallGate(2, 10, 60_000);
    gate.admission(() -> call("a1"));
    gate.admission(() -> call("a2"));
    Future<String> a3 = gate.admission(() -> call("a3"));
    Future<String> s1 = gate.settlement(() -> call("s1"));
    assertEquals(List.of("a1", "a2"), sent, "two in flight, the rest wait");
    assertEquals(2, gate.queued());
    assertFalse(gate.hasRoom());

    replies.get(0).complete("ok");
    assertEquals(List.of("a1", "a2", "s1"), sent, "the settlement overtakes the earlier admission");
    replies.get(1).complete("ok");
    assertEquals(List.of("a1", "a2", "s1", "a3"), sent);
    replies.get(3).complete("a3 done");
    assertEquals("a3 done", a3.result(), "a queued call gets its own reply");
    replies.get(2).complete("s1 done");
    assertEquals("s1 done", s1.result());
    assertTrue(gate.hasRoom(), "every slot is free again");
  }

  @Test
  @DisplayName("an admission beyond the queue bound, or waiting longer than allowed, fails as OVERLOADED unsent")
  void overloadedAdmissions() throws InterruptedException {
    RedisCallGate gate = new RedisCallGate(1, 1, 50);
    gate.admission(() -> call("a1"));
    Future<String> waiting = gate.admission(() -> call("a2"));
    Future<String> refused = gate.admission(() -> call("a3"));
    assertSame(RedisCallGate.OVERLOADED, refused.cause(), "the queue holds one");
    Future<String> settlement = gate.settlement(() -> call("s1"));
    assertFalse(settlement.isComplete(), "settlements are never refused");

    Thread.sleep(80);
    gate.expire();
    assertSame(RedisCallGate.OVERLOADED, waiting.cause(), "waited past 50 ms");
    replies.get(0).complete("ok");
    assertEquals(List.of("a1", "s1"), sent, "refused admissions were never sent");
  }

  @Test
  @DisplayName("a call that throws frees its slot")
  void throwingCallFreesItsSlot() {
    RedisCallGate gate = new RedisCallGate(1, 10, 60_000);
    Future<String> broken = gate.admission(() -> {
      throw new IllegalStateException("bug");
    });
    assertTrue(broken.failed());
    assertTrue(gate.hasRoom());
  }
}
