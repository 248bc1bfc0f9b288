package ai.gpt.api.metering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.limits.AllotmentCalls;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** One {@link Allotment} granted from memory: what it admits, and when it closes. */
class AllotmentTest {
  private static final AllotmentCalls.Grant GRANT = new AllotmentCalls.Grant(null, null, 1_000_000);

  @Test
  @DisplayName("with every slot in use it refuses a request but stays open; a settlement frees a slot")
  void slotsBoundWhatIsInFlight() {
    Allotment a = new Allotment("allot:1", null, new AllotmentCalls.Size(100, 10_000, 100_000, 2), GRANT, 0);
    assertNotNull(a.admit(10, 100));
    assertNotNull(a.admit(10, 100));
    assertNull(a.admit(10, 100), "both slots in use");
    assertTrue(a.isOpen(), "still open: the next request may find a slot");
    assertEquals(98, a.requestsLeft());
    assertFalse(a.settled(10, 8, 100, 50), "open: not ended");
    assertNotNull(a.admit(10, 100), "a slot was freed");
  }

  @Test
  @DisplayName("used up, it closes; it ends when its last request settles")
  void closesWhenUsedUp() {
    Allotment a = new Allotment("allot:2", null, new AllotmentCalls.Size(1, 10, 100, 0), GRANT, 0);
    assertNotNull(a.admit(10, 100));
    assertNull(a.admit(10, 100), "no request left");
    assertFalse(a.isOpen());
    assertTrue(a.settled(10, 10, 100, 100), "closed with nothing in flight: the caller ends it");
  }
}
