package ai.gpt.api.usage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The usage writer's outages: one WARN line when PostgreSQL or Redis starts failing, one INFO line when it works
 * again, and the retry back-off in between (100 ms doubling up to the configured maximum).
 */
final class WriterIncidents {
  private static final Logger LOG = LoggerFactory.getLogger(UsageWriter.class);
  private static final long MIN_BACKOFF_MS = 100;

  private final String consumer;
  private final long maxBackoffMs;
  private int consecutiveFailures;
  private String incident;
  private long incidentStartMs;

  WriterIncidents(String consumer, long maxBackoffMs) {
    this.consumer = consumer;
    this.maxBackoffMs = maxBackoffMs;
  }

  void failed(String system, Throwable cause) {
    consecutiveFailures++;
    if (incident == null) {
      incident = system;
      incidentStartMs = System.currentTimeMillis();
      LOG.warn("Usage writer {}: {} failed ({}). Usage events stay pending in Redis and are retried with back-off"
          + " (up to {} ms); nothing is dropped.", consumer, system, cause.toString(), maxBackoffMs);
    } else {
      LOG.debug("Usage writer {}: {} still failing: {}", consumer, system, cause.toString());
    }
  }

  /** Ends the incident if {@code system} (null: any) is the one that failed. */
  void recovered(String system) {
    if (incident != null && (system == null || system.equals(incident))) {
      LOG.info("Usage writer {}: {} works again after {} ms and {} failed attempts; pending usage is written.",
          consumer, incident, System.currentTimeMillis() - incidentStartMs, consecutiveFailures);
      incident = null;
      consecutiveFailures = 0;
    }
  }

  long backoffMs() {
    int doublings = Math.min(Math.max(consecutiveFailures - 1, 0), 20);
    return Math.min(maxBackoffMs, MIN_BACKOFF_MS << doublings);
  }
}
