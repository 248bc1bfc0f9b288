package ai.gpt.api.http;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * The access log's appender (logback.xml): request threads only queue their line, and one thread writes whatever
 * has queued since its last write to stdout in ONE write. Logback's AsyncAppender in front of a ConsoleAppender
 * makes one write system call per line (System.out flushes every write) and wakes its worker for every line; here
 * the writer, once woken by a line, lets lines gather for {@link #LINGER_NANOS} and writes them all at once, so a
 * busy second's lines cost a few hundred writes and wake-ups, and a lone line is written 5 ms after it was logged.
 *
 * <p>Like the AsyncAppender it replaces (neverBlock, discardingThreshold 0): a line that finds the queue full is
 * dropped rather than making a request wait on stdout. Writes go through {@code System.out}, whose lock keeps them
 * whole beside the other appenders' lines. On stop, what is queued is written before the appender stops.
 */
public final class BatchedStdoutAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {
  /** Lines per write at most, so one write stays well below a megabyte. */
  static final int MAX_BATCH = 512;
  /**
   * After the first line of a write, how long the writer lets more lines gather. A line reaches stdout at most this
   * much later; meanwhile request threads queue lines without waking the writer (a wake-up costs a system call, as
   * a write does).
   */
  static final long LINGER_NANOS = 5_000_000;

  private final Supplier<PrintStream> out;
  private Encoder<ILoggingEvent> encoder;
  private int queueSize = 8192;
  private BlockingQueue<ILoggingEvent> queue;
  private Thread writer;

  public BatchedStdoutAppender() {
    this(() -> System.out);
  }

  /** @param out where lines go (tests; logback uses stdout) */
  BatchedStdoutAppender(Supplier<PrintStream> out) {
    this.out = out;
  }

  public void setEncoder(Encoder<ILoggingEvent> encoder) {
    this.encoder = encoder;
  }

  public void setQueueSize(int queueSize) {
    this.queueSize = queueSize;
  }

  @Override
  public void start() {
    if (encoder == null) {
      addError("No encoder for appender " + name);
      return;
    }
    queue = new ArrayBlockingQueue<>(queueSize);
    writer = new Thread(this::writeLoop, "access-log-writer");
    writer.setDaemon(true);
    super.start();
    writer.start();
  }

  @Override
  public void stop() {
    if (!isStarted()) {
      return;
    }
    super.stop();
    writer.interrupt();
    try {
      writer.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  protected void append(ILoggingEvent event) {
    // Formatted now, on the caller's thread, as AsyncAppender does: the writer thread sees a finished message.
    event.prepareForDeferredProcessing();
    queue.offer(event);
  }

  private void writeLoop() {
    List<ILoggingEvent> batch = new ArrayList<>(MAX_BATCH);
    ByteArrayOutputStream buffer = new ByteArrayOutputStream(64 * 1024);
    while (isStarted()) {
      try {
        ILoggingEvent first = queue.poll(1, TimeUnit.SECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
      } catch (InterruptedException stopping) {
        break;
      }
      LockSupport.parkNanos(LINGER_NANOS);
      queue.drainTo(batch, MAX_BATCH - 1);
      try {
        write(batch, buffer);
      } catch (RuntimeException e) {
        // One line that cannot be encoded must not stop the access log.
        addError("Could not write access log lines", e);
        batch.clear();
        buffer.reset();
      }
    }
    // Stopped: what was queued before the stop is still written.
    while (queue.drainTo(batch, MAX_BATCH) > 0) {
      write(batch, buffer);
    }
  }

  private void write(List<ILoggingEvent> batch, ByteArrayOutputStream buffer) {
    for (ILoggingEvent e : batch) {
      buffer.writeBytes(encoder.encode(e));
    }
    batch.clear();
    PrintStream stream = out.get();
    try {
      buffer.writeTo(stream); // one write of the whole buffer, no copy
    } catch (IOException e) {
      addError("Could not write the access log", e);
    }
    stream.flush();
    buffer.reset();
  }
}
