package ai.gpt.api.usage;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The usage writer's meters (pass {@code GatewayMetrics.registry()} to export them with the gateway's):
 * {@code gptapi_usage_rows_written_total}, {@code gptapi_usage_batches_total},
 * {@code gptapi_usage_batch_seconds}, {@code gptapi_usage_duplicates_total},
 * {@code gptapi_usage_rejected_total}, {@code gptapi_usage_write_failures_total},
 * {@code gptapi_usage_handed_off_total} (events taken in memory from this process's settlements),
 * {@code gptapi_usage_queue_length} (entries in all usage streams, plus the events handed to this writer in memory
 * and not stored yet) and {@code gptapi_usage_writer_lag_seconds} (now minus the oldest unwritten event's ts_ms). Every meter is tagged with the consumer name.
 */
public final class UsageWriterMetrics {
  private final Counter rows;
  private final Counter batches;
  private final Counter duplicates;
  private final Counter rejected;
  private final Counter failures;
  private final Counter recovered;
  private final Counter handedOff;
  private final Timer batchLatency;
  private final AtomicLong queueLength = new AtomicLong();
  private final AtomicLong lagMillis = new AtomicLong();
  private final AtomicLong oldestWaitingAt = new AtomicLong();
  private final AtomicLong sweepPassAt = new AtomicLong();

  public UsageWriterMetrics(MeterRegistry registry, String consumer) {
    rows = Counter.builder("gptapi_usage_rows_written")
        .description("Usage rows (each with its ledger debit) written to PostgreSQL")
        .tag("consumer", consumer).register(registry);
    batches = Counter.builder("gptapi_usage_batches")
        .description("Usage batches committed to PostgreSQL (one transaction each)")
        .tag("consumer", consumer).register(registry);
    duplicates = Counter.builder("gptapi_usage_duplicates")
        .description("Usage events skipped because their request id was already written")
        .tag("consumer", consumer).register(registry);
    rejected = Counter.builder("gptapi_usage_rejected")
        .description("Usage stream entries that could not be stored and went to usage_rejects")
        .tag("consumer", consumer).register(registry);
    recovered = Counter.builder("gptapi_usage_outbox_recovered")
        .description("Usage events copied again from an organization's outbox to its usage stream, their first copy "
            + "having never arrived (gateway killed or Redis error after the settlement)")
        .tag("consumer", consumer).register(registry);
    handedOff = Counter.builder("gptapi_usage_handed_off")
        .description("Usage events this process's settlements handed to its writer in memory (not copied to a "
            + "usage stream)")
        .tag("consumer", consumer).register(registry);
    failures = Counter.builder("gptapi_usage_write_failures")
        .description("Failed write or acknowledge attempts (retried with back-off)")
        .tag("consumer", consumer).register(registry);
    batchLatency = Timer.builder("gptapi_usage_batch")
        .description("Time to write one usage batch to PostgreSQL")
        .tag("consumer", consumer).publishPercentileHistogram().register(registry);
    Gauge.builder("gptapi_usage_queue_length", queueLength, AtomicLong::get)
        .description("Usage events waiting: in the usage streams (XLEN summed over shards) and handed to this "
            + "writer in memory")
        .tag("consumer", consumer).register(registry);
    Gauge.builder("gptapi_usage_writer_lag_seconds", lagMillis, v -> v.get() / 1000.0)
        .description("Age of the oldest usage event not yet written (0 when the queue is empty)")
        .tag("consumer", consumer).register(registry);
    // The queue gauges see the shard streams only: an event whose copy a killed gateway cut is in its outbox alone
    // until a sweep pass copies it. This stamp shows that passes still complete (on whichever replica sweeps).
    Gauge.builder("gptapi_usage_outbox_sweep_last_pass_timestamp_seconds", sweepPassAt, v -> v.get() / 1000.0)
        .description("When this replica last completed a pass over every outbox (epoch seconds; 0: none yet)")
        .tag("consumer", consumer).register(registry);
  }

  /** Meters in a private registry, for tests and tools. */
  public static UsageWriterMetrics standalone(String consumer) {
    return new UsageWriterMetrics(new SimpleMeterRegistry(), consumer);
  }

  void batchWritten(int events, long rowsWritten, long nanos) {
    batches.increment();
    rows.increment(rowsWritten);
    if (events > rowsWritten) {
      duplicates.increment(events - rowsWritten);
    }
    batchLatency.record(nanos, TimeUnit.NANOSECONDS);
  }

  void duplicates(long n) {
    duplicates.increment(n);
  }

  void rejected(long n) {
    rejected.increment(n);
  }

  void sweepPassCompleted() {
    sweepPassAt.set(System.currentTimeMillis());
  }

  /** Epoch ms of this replica's last completed outbox sweep pass, 0 if none. */
  public long lastSweepPassAt() {
    return sweepPassAt.get();
  }

  void recovered(long n) {
    recovered.increment(n);
  }

  void handedOff() {
    handedOff.increment();
  }

  void failure() {
    failures.increment();
  }

  void queue(long length, long lagMs) {
    queueLength.set(length);
    lagMillis.set(Math.max(0, lagMs));
    oldestWaitingAt.set(lagMs > 0 ? System.currentTimeMillis() - lagMs : 0);
  }

  public long rowsWritten() {
    return (long) rows.count();
  }

  public long batches() {
    return (long) batches.count();
  }

  public long duplicates() {
    return (long) duplicates.count();
  }

  public long rejected() {
    return (long) rejected.count();
  }

  public long recovered() {
    return (long) recovered.count();
  }

  public long failures() {
    return (long) failures.count();
  }

  public long queueLength() {
    return queueLength.get();
  }

  public long lagMillis() {
    return lagMillis.get();
  }

  /** Epoch ms of the oldest usage event not yet written, as of the last probe; 0 when none waits. */
  public long oldestWaitingAt() {
    return oldestWaitingAt.get();
  }

  public Timer batchLatency() {
    return batchLatency;
  }
}
