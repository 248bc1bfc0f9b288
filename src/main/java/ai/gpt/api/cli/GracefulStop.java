package ai.gpt.api.cli;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Runs the server's stop once, whoever asks first: SIGTERM (Kubernetes) or SIGINT (Ctrl-C) run it and then exit
 * with status 0, as an orchestrator expects of a clean stop; any other exit runs it from the shutdown hook. A
 * shutdown hook alone would stop cleanly too, but the JVM would then exit with 143 (killed by SIGTERM).
 */
final class GracefulStop {
  private static final Logger LOG = LoggerFactory.getLogger(GracefulStop.class);
  private final Runnable stop;
  private final AtomicBoolean started = new AtomicBoolean();
  private final CountDownLatch done = new CountDownLatch(1);

  GracefulStop(Runnable stop) {
    this.stop = stop;
  }

  /** Installs the signal handlers and the shutdown hook. */
  GracefulStop install() {
    for (String name : new String[] {"TERM", "INT"}) {
      // The handler thread must not block the JVM's signal dispatch: the stop runs on its own thread.
      Signal.handle(new Signal(name), signal -> new Thread(() -> {
        LOG.info("SIG{} received: stopping gracefully", name);
        run();
        System.exit(0);
      }, "graceful-stop").start());
    }
    Runtime.getRuntime().addShutdownHook(new Thread(this::run, "shutdown-hook"));
    return this;
  }

  /** Runs the stop, or waits for the run already under way to finish. */
  void run() {
    if (started.compareAndSet(false, true)) {
      try {
        stop.run();
      } finally {
        done.countDown();
      }
    } else {
      awaitStopped();
    }
  }

  /** Blocks the calling (main) thread until the stop has run. */
  void awaitStopped() {
    try {
      done.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
