package ai.gpt.api.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.Sleep;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The access log's appender, on a logger context of its own and a stream that counts its writes. */
class BatchedStdoutAppenderTest {

  @Test
  @DisplayName("lines logged in a burst reach the stream whole, in order, in far fewer writes than lines; a lone"
      + " line is written within milliseconds; stop writes what is queued")
  void batchesWrites() {
    CountingStream sink = new CountingStream();
    PrintStream stream = new PrintStream(sink, true, StandardCharsets.UTF_8);
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(new LogbackMDCAdapter()); // what logback's own start-up gives its context
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%msg%n");
    encoder.start();
    BatchedStdoutAppender appender = new BatchedStdoutAppender(() -> stream);
    appender.setContext(context);
    appender.setEncoder(encoder);
    appender.start();
    Logger log = context.getLogger("access");
    log.setLevel(Level.INFO);
    log.addAppender(appender);

    int lines = 5_000;
    for (int i = 0; i < lines; i++) {
      log.info("line {}", i);
    }
    awaitLines(sink, lines);
    assertTrue(sink.writes.get() <= lines / 10, sink.writes.get() + " writes for " + lines + " lines");
    List<String> written = sink.text().lines().toList();
    for (int i = 0; i < lines; i++) {
      assertEquals("line " + i, written.get(i));
    }

    int before = sink.writes.get();
    log.info("alone");
    awaitLines(sink, lines + 1);
    assertEquals(before + 1, sink.writes.get(), "a lone line is one write, without waiting for more lines");

    for (int i = 0; i < 100; i++) {
      log.info("last {}", i);
    }
    appender.stop();
    assertEquals(lines + 101, sink.text().lines().count(), "stop writes what was queued");
  }

  private static void awaitLines(CountingStream sink, int n) {
    for (int i = 0; i < 500 && sink.text().lines().count() < n; i++) {
      Sleep.ms(10);
    }
    assertEquals(n, sink.text().lines().count());
  }

  private static final class CountingStream extends ByteArrayOutputStream {
    final AtomicInteger writes = new AtomicInteger();

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      writes.incrementAndGet();
      super.write(b, off, len);
    }

    synchronized String text() {
      return toString(StandardCharsets.UTF_8);
    }
  }
}
