package ai.gpt.api.usage;

import java.util.Map;

/**
 * Where a settled usage event goes first: this process's usage writer, in memory ({@link UsageWriter#offer}),
 * instead of a copy to its shard's usage stream that the writer would then read back. The event's durable copy is
 * its organization's outbox entry either way (written by the settlement, atomically with the charge): an event
 * lost with this process is found there and recovered by the outbox sweep ({@link OutboxSweep}).
 */
@FunctionalInterface
public interface UsageHandoff {
  /** Takes nothing: every event is copied to the shard streams. */
  UsageHandoff NONE = (record, fields, outboxId) -> false;

  /**
   * @param record   the event
   * @param fields   the event's fields, as in the outbox ({@link UsageStreams#fields}); kept for a reject
   * @param outboxId the event's entry id in its organization's outbox
   * @return whether it was taken; if not, the caller copies it to the shard stream
   */
  boolean offer(UsageRecord record, Map<String, String> fields, String outboxId);
}
