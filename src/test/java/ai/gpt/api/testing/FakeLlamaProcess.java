package ai.gpt.api.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@link FakeLlamaServer} in a JVM of its own, to be killed with SIGKILL and started again on the same port, as a
 * crashed llama-server restarted by its supervisor.
 */
public final class FakeLlamaProcess implements AutoCloseable {
  /**
   * A JVM start takes seconds on a quiet machine and tens of seconds on a busy 2-core one; a start that never
   * comes still fails.
   */
  private static final long START_TIMEOUT_MS = 60_000;
  private static final String LISTENING = "fake llama-server listening on ";

  private final int port;
  private final List<String> args;
  private final Path log;
  private Process process;
  private int starts;

  private FakeLlamaProcess(int port, List<String> args, Path log) {
    this.port = port;
    this.args = args;
    this.log = log;
  }

  /** A fake on a free port with that many slots and that delay before each token (see FakeLlamaServer.main). */
  public static FakeLlamaProcess start(Path log, int slots, long tokenDelayMs) throws IOException {
    int port = GatewayHarness.freePort();
    Files.createDirectories(log.toAbsolutePath().getParent());
    Files.deleteIfExists(log); // restarts append to it
    FakeLlamaProcess fake = new FakeLlamaProcess(port, List.of("--port", String.valueOf(port), "--slots",
        String.valueOf(slots), "--token-delay-ms", String.valueOf(tokenDelayMs), "--instances", "1"), log);
    fake.restart();
    return fake;
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  public boolean alive() {
    return process != null && process.isAlive();
  }

  /** SIGKILL; returns the exit status. */
  public synchronized int kill() throws InterruptedException {
    return ChildJvm.kill(process);
  }

  /** Starts the process (again, on the same port) and waits until it listens. */
  public synchronized void restart() throws IOException {
    if (alive()) {
      throw new IllegalStateException("still running");
    }
    starts++;
    Files.writeString(log, "--- start " + starts + " ---\n", StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    process = ChildJvm.start(FakeLlamaServer.class.getName(), args, Map.of(), "128m", log);
    long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
    while (!listeningSince(starts)) {
      if (!process.isAlive() || System.currentTimeMillis() > deadline) {
        close();
        throw new AssertionError(log.getFileName() + ": the fake llama-server did not start:\n"
            + ChildJvm.tail(log, 30));
      }
      Sleep.ms(25);
    }
  }

  /** The log says "listening" after the marker of the start-th start. */
  private boolean listeningSince(int start) throws IOException {
    String text = Files.readString(log, StandardCharsets.UTF_8);
    int marker = text.lastIndexOf("--- start " + start + " ---");
    return marker >= 0 && text.indexOf(LISTENING, marker) > 0;
  }

  @Override
  public synchronized void close() {
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
