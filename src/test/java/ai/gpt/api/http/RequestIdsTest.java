package ai.gpt.api.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RequestIdsTest {
  @Test
  void idsAreTheTimeThenEightyRandomBits() {
    long before = System.currentTimeMillis();
    String id = RequestIds.generate();
    long after = System.currentTimeMillis();
    assertTrue(id.matches("req_[0-9a-f]{32}"), id);
    long ms = Long.parseLong(id.substring(4, 16), 16);
    assertTrue(ms >= before && ms <= after, id);
  }

  /** The exactly-once guard's B-tree stays cheap only if later ids sort after earlier ones (see RequestIds). */
  @Test
  void laterIdsSortAfterEarlierOnes() throws InterruptedException {
    String first = RequestIds.generate();
    long start = System.currentTimeMillis();
    while (System.currentTimeMillis() == start) {
      Thread.onSpinWait();
    }
    String second = RequestIds.generate();
    assertTrue(first.compareTo(second) < 0, first + " then " + second);
  }

  @Test
  void idsOfTheSameMillisecondDiffer() {
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 200_000; i++) {
      ids.add(RequestIds.generate());
    }
    assertEquals(200_000, ids.size());
  }
}
