package ai.gpt.api.local;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.embedded.RedisServer;
import redis.embedded.core.ExecutableProvider;
import redis.embedded.model.OsArchitecture;

/**
 * A real Redis server from codemonstur's embedded-redis artifact, bound to 127.0.0.1 and persisting to
 * {@code dataDir/redis} (AOF with fsync every second, plus RDB snapshots; Redis saves again on SIGTERM). The binary is
 * copied once to {@code dataDir/bin} and the configuration is rewritten to {@code dataDir/redis/redis.conf} at every
 * start. Redis runs fine as root, so no privilege handling is needed.
 */
final class RedisProcess {
  private static final Logger log = LoggerFactory.getLogger(RedisProcess.class);
  private static final Logger serverLog = LoggerFactory.getLogger("ai.gpt.api.local.redis-server");

  private final RedisServer server;
  private final int port;

  private RedisProcess(RedisServer server, int port) {
    this.server = server;
    this.port = port;
  }

  /** {@code dataDir} must be absolute and real. */
  static RedisProcess start(Path dataDir, int port) throws IOException {
    Path binRoot = dataDir.resolve("bin");
    Path redisDir = dataDir.resolve("redis");
    Files.createDirectories(redisDir);
    Path pidFile = redisDir.resolve("redis.pid");
    stopLeftoverServer(pidFile, binRoot);
    Processes.requirePortFree(port, "Redis", "Stop it, or set REDIS_URL to use an existing Redis server instead.");

    String resource = ExecutableProvider.newProvidedVersionsMap().get(OsArchitecture.detectOSandArchitecture());
    if (resource == null) {
      throw new IllegalStateException("embedded-redis ships no Redis binary for this OS/CPU; set REDIS_URL instead");
    }
    Path exe = installBinary(resource, binRoot);
    Path conf = writeConfig(redisDir, port, pidFile);

    RedisServer server = new RedisServer(port, List.of(exe.toString(), conf.toString()), false,
        line -> serverLog.debug("{}", line), line -> serverLog.warn("{}", line));
    try {
      server.start(); // blocks until "Ready to accept connections" (after the AOF is loaded)
    } catch (IOException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IOException("Redis did not start on 127.0.0.1:" + port + ": " + cause.getMessage(), e);
    }
    log.info("Embedded Redis {} started on 127.0.0.1:{}, data {} (appendonly + snapshots), config {}",
        version(resource), port, redisDir, conf);
    return new RedisProcess(server, port);
  }

  int port() {
    return port;
  }

  /** SIGTERM and wait: Redis writes its final snapshot and fsyncs the AOF before exiting. */
  void stop() {
    try {
      server.stop();
      log.info("Embedded Redis stopped");
    } catch (IOException e) {
      log.error("Could not stop embedded Redis", e);
    }
  }

  /**
   * A kill -9 of the JVM leaves redis-server running (it ignores SIGPIPE). Stop it politely so it saves, then
   * this start takes over. The pid must belong to a binary under our bin directory, so a reused pid is left alone.
   */
  private static void stopLeftoverServer(Path pidFile, Path binRoot) throws IOException {
    OptionalLong pid = Processes.readPid(pidFile);
    if (pid.isEmpty()) {
      Files.deleteIfExists(pidFile);
      return;
    }
    long p = pid.getAsLong();
    boolean ours = Processes.isAlive(p)
        && (Processes.executable(p).map(x -> x.startsWith(binRoot.toString())).orElse(false)
            || String.join(" ", Processes.commandLine(p)).startsWith(binRoot.toString()));
    if (ours) {
      log.warn("Redis from a previous run (pid {}) is still running; stopping it", p);
      if (!Processes.terminate(p, Duration.ofSeconds(60))) {
        throw new IllegalStateException("Cannot stop leftover Redis pid " + p);
      }
    } else {
      log.info("Removing stale {} (pid {} is gone or not our Redis)", pidFile, p);
    }
    Files.deleteIfExists(pidFile);
  }

  private static Path installBinary(String resource, Path binRoot) throws IOException {
    byte[] binary;
    try (InputStream in = RedisServer.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("Redis binary " + resource + " missing from the embedded-redis jar");
      }
      binary = in.readAllBytes();
    }
    Files.createDirectories(binRoot);
    Path exe = binRoot.resolve(resource.substring(resource.lastIndexOf('/') + 1));
    if (Files.isRegularFile(exe) && Files.size(exe) == binary.length && Files.isExecutable(exe)) {
      return exe;
    }
    Path tmp = binRoot.resolve(exe.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    Files.write(tmp, binary);
    PostgresBinaries.setPermissions(tmp, 0755);
    Files.move(tmp, exe, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return exe;
  }

  private static Path writeConfig(Path redisDir, int port, Path pidFile) throws IOException {
    String conf = String.join("\n",
        "# Written by gpt-api (ai.gpt.api.local.EmbeddedServices) at every start; edits here are overwritten.",
        "bind 127.0.0.1",
        "port " + port,
        "protected-mode yes",
        "daemonize no",
        "pidfile " + quote(pidFile.toString()),
        "dir " + quote(redisDir.toString()),
        "logfile \"\"",
        "loglevel notice",
        "appendonly yes",
        "appendfilename \"appendonly.aof\"",
        "appendfsync everysec",
        "dbfilename \"dump.rdb\"",
        "save 900 1",
        "save 300 10",
        "save 60 10000",
        "");
    Path file = redisDir.resolve("redis.conf");
    Files.writeString(file, conf, StandardCharsets.UTF_8);
    return file;
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static String version(String resource) {
    Matcher m = Pattern.compile("redis-server-([0-9.]+)").matcher(resource);
    return m.find() ? m.group(1).replaceAll("\\.$", "") : resource;
  }
}
