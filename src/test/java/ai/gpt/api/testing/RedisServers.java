package ai.gpt.api.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Private redis-server processes (Debian's {@code /usr/bin/redis-server}) on free loopback ports in a temporary
 * directory, for tests that must not share the machine's Redis: exact {@code INFO commandstats} counts, or a real
 * Redis Cluster. {@link #close} kills them and deletes the directory.
 */
public final class RedisServers implements AutoCloseable {
  private static final String SERVER = "/usr/bin/redis-server";
  private static final String CLI = "/usr/bin/redis-cli";

  private final Path dir;
  private final List<Integer> ports = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();

  private RedisServers(Path dir) {
    this.dir = dir;
  }

  /** One standalone server without persistence. */
  public static RedisServers standalone() throws IOException, InterruptedException {
    RedisServers s = new RedisServers(Files.createTempDirectory("gptapi-redis-"));
    s.startNode(false);
    return s;
  }

  /** {@code nodes} masters (no replicas) joined into one cluster covering all 16,384 slots. */
  public static RedisServers cluster(int nodes) throws IOException, InterruptedException {
    RedisServers s = new RedisServers(Files.createTempDirectory("gptapi-redis-cluster-"));
    try {
      List<String> create = new ArrayList<>(List.of(CLI, "--cluster", "create"));
      for (int i = 0; i < nodes; i++) {
        create.add("127.0.0.1:" + s.startNode(true));
      }
      create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
      s.run(create);
      s.awaitClusterOk();
      return s;
    } catch (IOException | RuntimeException | InterruptedException e) {
      s.close();
      throw e;
    }
  }

  public List<Integer> ports() {
    return List.copyOf(ports);
  }

  /** {@code redis://127.0.0.1:<port>} of every node. */
  public List<String> urls() {
    return ports.stream().map(p -> "redis://127.0.0.1:" + p).toList();
  }

  /** Runs redis-cli against the first node and returns its output. */
  public String cli(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(CLI, "-p", String.valueOf(ports.get(0))));
    cmd.addAll(List.of(args));
    return run(cmd);
  }

  /** Runs redis-cli against one node. */
  public String cli(int port, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(CLI, "-p", String.valueOf(port)));
    cmd.addAll(List.of(args));
    return run(cmd);
  }

  private int startNode(boolean cluster) throws IOException, InterruptedException {
    int port = GatewayHarness.freePort();
    Path nodeDir = Files.createDirectories(dir.resolve(String.valueOf(port)));
    List<String> cmd = new ArrayList<>(List.of(SERVER, "--port", String.valueOf(port), "--bind", "127.0.0.1",
        "--dir", nodeDir.toString(), "--save", "", "--appendonly", "no", "--daemonize", "no",
        "--logfile", nodeDir.resolve("redis.log").toString()));
    if (cluster) {
      cmd.addAll(List.of("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
          "--cluster-node-timeout", "5000"));
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(nodeDir.resolve("stdout").toFile())
        .start();
    processes.add(p);
    ports.add(port);
    long deadline = System.currentTimeMillis() + 10_000;
    while (!cli(port, "PING").trim().equals("PONG")) {
      if (!p.isAlive() || System.currentTimeMillis() > deadline) {
        throw new IOException("redis-server on port " + port + " did not start: "
            + Files.readString(nodeDir.resolve("redis.log")));
      }
      Thread.sleep(50);
    }
    return port;
  }

  private void awaitClusterOk() throws IOException, InterruptedException {
    long deadline = System.currentTimeMillis() + 20_000;
    for (int port : ports) {
      while (!cli(port, "CLUSTER", "INFO").contains("cluster_state:ok")) {
        if (System.currentTimeMillis() > deadline) {
          throw new IOException("the cluster did not reach cluster_state:ok: " + cli(port, "CLUSTER", "INFO"));
        }
        Thread.sleep(100);
      }
    }
  }

  private String run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("timed out: " + cmd);
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    for (Process p : processes) {
      p.destroyForcibly();
    }
    for (Process p : processes) {
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // a temp directory left behind is harmless
    }
  }
}
