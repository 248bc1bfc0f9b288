package ai.gpt.api.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.catalog.BackendDefinition;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The quarantine back-off: it grows with failed probes, not with the requests a crash failed all at once. */
class BackendBackoffTest {
  private static final long INTERVAL_MS = 200;

  @Test
  @DisplayName("a backend that died with ten requests in flight is probed again after one interval, not 30 s")
  void requestsFailingTogetherCountOnce() {
    Backend backend = new Backend(new BackendDefinition(1, "gpt-fast", "http://127.0.0.1:1", null, 4, 1, false));
    long now = 1_000_000;
    for (int i = 0; i < 10; i++) {
      backend.markRequestFailed(now, INTERVAL_MS);
    }
    assertEquals(Backend.Health.QUARANTINED, backend.health());
    assertFalse(backend.startProbe(now + INTERVAL_MS - 1));
    assertTrue(backend.startProbe(now + INTERVAL_MS), "probed again one interval after the crash");
  }

  @Test
  @DisplayName("each failed probe in a row doubles the wait, up to 30 s")
  void failedProbesDouble() {
    Backend backend = new Backend(new BackendDefinition(1, "gpt-fast", "http://127.0.0.1:1", null, 4, 1, false));
    long now = 1_000_000;
    backend.markRequestFailed(now, INTERVAL_MS);
    for (int probe = 1; probe <= 12; probe++) {
      backend.markFailed(now, INTERVAL_MS);
      long wait = Math.min(Backend.MAX_BACKOFF_MS, INTERVAL_MS << Math.min(probe, 10));
      assertFalse(backend.startProbe(now + wait - 1), "probe " + probe);
      assertTrue(backend.startProbe(now + wait), "probe " + probe);
      backend.probeDone(now, INTERVAL_MS);
    }
  }
}
