package ai.gpt.api.testing;

import io.vertx.core.Vertx;
import io.vertx.ext.web.client.WebClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A gateway in its own JVM ({@code ai.gpt.api.Main serve}, the production entry point) against the test database
 * and Redis, so that a kill is a real process death: no shutdown hook, no undeploy, no draining of the usage
 * writer. {@link #start} returns once the gateway is ready and routes to the given backends.
 */
public final class GatewayProcess implements AutoCloseable {
  /**
   * A JVM start takes seconds on a quiet machine and tens of seconds on a busy 2-core one; a start that never
   * comes still fails.
   */
  private static final long START_TIMEOUT_MS = 60_000;

  private final Process process;
  private final int port;
  private final int metricsPort;
  private final Path log;

  private GatewayProcess(Process process, int port, int metricsPort, Path log) {
    this.process = process;
    this.port = port;
    this.metricsPort = metricsPort;
    this.log = log;
  }

  /**
   * The environment of a test gateway: the test database and Redis, the test secrets, 127.0.0.1 only, a short
   * health interval, and {@code replica} as the usage writer's consumer name (a restarted pod keeps its name).
   * The caller may change it (e.g. DATABASE_URL through a proxy) before {@link #start}.
   */
  public static Map<String, String> environment(String replica) {
    Map<String, String> env = new HashMap<>();
    env.put("DATABASE_URL", TestServices.DATABASE_URL);
    env.put("REDIS_URL", TestServices.REDIS_URL);
    env.put("KEY_PEPPER", TestServices.PEPPER);
    env.put("JWT_SECRET", TestServices.JWT_SECRET);
    env.put("SECRETS_KEY", TestServices.SECRETS_KEY);
    env.put("HOST", "127.0.0.1");
    env.put("EVENT_LOOPS", "2");
    env.put("HEALTH_INTERVAL_MS", "200");
    env.put("REPLICA_NAME", replica);
    return env;
  }

  /** Starts the gateway on free ports and waits until /ready answers 200 and every given backend is healthy. */
  public static GatewayProcess start(Vertx vertx, Map<String, String> environment, Path log, long... backendIds)
      throws IOException {
    Map<String, String> env = new HashMap<>(environment);
    int port = GatewayHarness.freePort();
    int metricsPort = GatewayHarness.freePort();
    env.put("PORT", String.valueOf(port));
    env.put("METRICS_PORT", String.valueOf(metricsPort));
    Files.deleteIfExists(log); // a previous run's
    Process process = ChildJvm.start("ai.gpt.api.Main", List.of("serve"), env, "256m", log);
    GatewayProcess gw = new GatewayProcess(process, port, metricsPort, log);
    WebClient ops = WebClient.create(vertx);
    try {
      long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
      while (true) {
        if (!process.isAlive()) {
          throw new AssertionError(log.getFileName() + ": the gateway exited with " + process.exitValue() + ":\n"
              + gw.tail());
        }
        if (gw.ready(ops, backendIds)) {
          return gw;
        }
        if (System.currentTimeMillis() > deadline) {
          gw.close();
          throw new AssertionError(log.getFileName() + ": the gateway was not ready in " + START_TIMEOUT_MS
              + " ms:\n" + gw.tail());
        }
        Sleep.ms(50);
      }
    } finally {
      ops.close();
    }
  }

  public Process process() {
    return process;
  }

  public int port() {
    return port;
  }

  public int metricsPort() {
    return metricsPort;
  }

  public Path log() {
    return log;
  }

  /** SIGKILL; returns the exit status ({@link ChildJvm#KILLED_BY_SIGKILL} when the signal killed it). */
  public int kill() throws InterruptedException {
    return ChildJvm.kill(process);
  }

  /** SIGTERM, as Kubernetes stops a pod: the gateway drains (see Gateway#shutdown) and exits by itself. */
  public void terminate() {
    process.destroy();
  }

  /** The gateway's last log lines, without the access log. */
  public String tail() {
    return ChildJvm.tail(log, 60);
  }

  /** The /metrics text, or null when the gateway does not answer. */
  public String metrics(WebClient ops) {
    try {
      var resp = ops.get(metricsPort, "127.0.0.1", "/metrics").send().await();
      return resp.statusCode() == 200 ? resp.bodyAsString() : null;
    } catch (Exception notListening) { // await() rethrows the ConnectException itself
      return null;
    }
  }

  /** /ready answers 200 (PostgreSQL and Redis reachable) and the health checker has every backend in rotation. */
  private boolean ready(WebClient ops, long... backendIds) {
    try {
      if (ops.get(metricsPort, "127.0.0.1", "/ready").send().await().statusCode() != 200) {
        return false;
      }
    } catch (Exception notListeningYet) {
      return false;
    }
    return routesTo(ops, backendIds);
  }

  /** The health checker has every one of these backends in rotation (false when the gateway does not answer). */
  public boolean routesTo(WebClient ops, long... backendIds) {
    String metrics = metrics(ops);
    if (metrics == null) {
      return false;
    }
    for (long id : backendIds) {
      if (metrics.lines().noneMatch(l -> l.startsWith("gptapi_backend_healthy{")
          && l.contains("backend=\"" + id + "\"") && l.endsWith(" 1.0"))) {
        return false;
      }
    }
    return true;
  }

  /** Kills the process if it still runs (SIGKILL: whatever the test did, nothing of it outlives the test). */
  @Override
  public void close() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
