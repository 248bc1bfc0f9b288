package ai.gpt.api.usage;

/**
 * Tuning of the {@link UsageWriter}.
 *
 * @param batchSize         events per transaction, and the COUNT of each stream read
 * @param flushIntervalMs   how long to wait before reading again when the last read returned less than a batch
 * @param writeConcurrency  batches written at the same time (each on its own pooled connection)
 * @param claimIdleMs       entries pending this long on another (dead) consumer are taken over
 * @param claimIntervalMs   how often to look for such entries
 * @param maxBackoffMs      cap of the doubling retry delay while PostgreSQL or Redis fails
 * @param writeTimeoutMs    a batch statement that takes longer counts as failed and is retried
 * @param probeIntervalMs   how often queue length and writer lag are measured for the metrics
 * @param partitionMonthsAhead monthly partitions of {@code usage} kept created ahead of time
 * @param outboxGraceMs     an outbox entry older than this (and older by this than the usage stream's oldest entry)
 *                          whose event is not in PostgreSQL is copied to the usage stream again ({@link OutboxRecovery})
 * @param outboxSweepIntervalMs how often a pass over every outbox starts ({@link OutboxSweep}, on one replica of
 *                          all); also at start
 */
public record UsageWriterSettings(
    int batchSize,
    long flushIntervalMs,
    int writeConcurrency,
    long claimIdleMs,
    long claimIntervalMs,
    long maxBackoffMs,
    long writeTimeoutMs,
    long probeIntervalMs,
    int partitionMonthsAhead,
    long outboxGraceMs,
    long outboxSweepIntervalMs) {

  public static final int DEFAULT_BATCH_SIZE = 500;
  public static final long DEFAULT_FLUSH_INTERVAL_MS = 50;

  public UsageWriterSettings {
    require(batchSize > 0 && batchSize <= 10_000, "batchSize must be 1..10000");
    require(flushIntervalMs > 0, "flushIntervalMs must be positive");
    require(writeConcurrency > 0, "writeConcurrency must be positive");
    require(claimIdleMs > 0 && claimIntervalMs > 0, "claim times must be positive");
    require(maxBackoffMs > 0 && writeTimeoutMs > 0 && probeIntervalMs > 0, "times must be positive");
    require(partitionMonthsAhead >= 0, "partitionMonthsAhead must not be negative");
    require(outboxGraceMs > 0 && outboxSweepIntervalMs > 0, "outbox times must be positive");
  }

  /**
   * Batch 500, flush every 50 ms, 2 concurrent batches, take over entries idle for 30 s; outbox entries whose copy
   * never arrived are copied again after 30 s (the first copy is sent at once: seconds would do; the grace keeps
   * duplicates rare), and a pass over every outbox starts every minute (on one replica).
   */
  public static UsageWriterSettings defaults() {
    return new UsageWriterSettings(DEFAULT_BATCH_SIZE, DEFAULT_FLUSH_INTERVAL_MS, 2, 30_000, 10_000, 5_000, 30_000,
        1_000, 3, 30_000, 60_000);
  }

  public UsageWriterSettings withBatchSize(int v) {
    return new UsageWriterSettings(v, flushIntervalMs, writeConcurrency, claimIdleMs, claimIntervalMs, maxBackoffMs,
        writeTimeoutMs, probeIntervalMs, partitionMonthsAhead, outboxGraceMs,
        outboxSweepIntervalMs);
  }

  public UsageWriterSettings withFlushIntervalMs(long v) {
    return new UsageWriterSettings(batchSize, v, writeConcurrency, claimIdleMs, claimIntervalMs, maxBackoffMs,
        writeTimeoutMs, probeIntervalMs, partitionMonthsAhead, outboxGraceMs,
        outboxSweepIntervalMs);
  }

  public UsageWriterSettings withWriteConcurrency(int v) {
    return new UsageWriterSettings(batchSize, flushIntervalMs, v, claimIdleMs, claimIntervalMs, maxBackoffMs,
        writeTimeoutMs, probeIntervalMs, partitionMonthsAhead, outboxGraceMs,
        outboxSweepIntervalMs);
  }

  public UsageWriterSettings withClaim(long idleMs, long intervalMs) {
    return new UsageWriterSettings(batchSize, flushIntervalMs, writeConcurrency, idleMs, intervalMs, maxBackoffMs,
        writeTimeoutMs, probeIntervalMs, partitionMonthsAhead, outboxGraceMs,
        outboxSweepIntervalMs);
  }

  public UsageWriterSettings withMaxBackoffMs(long v) {
    return new UsageWriterSettings(batchSize, flushIntervalMs, writeConcurrency, claimIdleMs, claimIntervalMs, v,
        writeTimeoutMs, probeIntervalMs, partitionMonthsAhead, outboxGraceMs,
        outboxSweepIntervalMs);
  }

  public UsageWriterSettings withWriteTimeoutMs(long v) {
    return new UsageWriterSettings(batchSize, flushIntervalMs, writeConcurrency, claimIdleMs, claimIntervalMs,
        maxBackoffMs, v, probeIntervalMs, partitionMonthsAhead, outboxGraceMs,
        outboxSweepIntervalMs);
  }

  public UsageWriterSettings withProbeIntervalMs(long v) {
    return new UsageWriterSettings(batchSize, flushIntervalMs, writeConcurrency, claimIdleMs, claimIntervalMs,
        maxBackoffMs, writeTimeoutMs, v, partitionMonthsAhead, outboxGraceMs,
        outboxSweepIntervalMs);
  }

  public UsageWriterSettings withOutbox(long graceMs, long sweepIntervalMs) {
    return new UsageWriterSettings(batchSize, flushIntervalMs, writeConcurrency, claimIdleMs, claimIntervalMs,
        maxBackoffMs, writeTimeoutMs, probeIntervalMs, partitionMonthsAhead, graceMs, sweepIntervalMs);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
