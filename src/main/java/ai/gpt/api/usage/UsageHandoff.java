package ai.gpt.api.usage;

import java.util.List;

/**
 * Where a settled usage event goes first: this process's usage writer, in memory ({@link UsageWriter#offer}),
 * instead of a copy to its shard's usage stream that the writer would then read back. The event's durable copy is
 * its organization's outbox entry either way (written by the settlement, atomically with the charge): an event
 * lost with this process is found there and recovered by the outbox sweep ({@link OutboxSweep}).
 */
@FunctionalInterface
public interface UsageHandoff {
  /** Takes nothing: every event is copied to the shard streams. */
  UsageHandoff NONE = (orgId, values, tsMs, outboxId) -> false;

  /**
   * @param values   the event's fields before ts_ms, in {@link UsageStreams#EVENT_FIELDS} order
   * @param outboxId the event's entry id in its organization's outbox
   * @return whether it was taken; if not, the caller copies it to the shard stream
   */
  boolean offer(long orgId, List<String> values, String tsMs, String outboxId);
}
