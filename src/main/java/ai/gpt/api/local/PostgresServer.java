package ai.gpt.api.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server from zonky's binaries, managed with its own initdb and pg_ctl (not zonky's
 * EmbeddedPostgres, which cannot run as root and always works from temporary directories). Data lives in
 * {@code dataDir/postgres} and is reused; the server log is {@code dataDir/logs/postgres.log}. It listens on
 * 127.0.0.1 only (no Unix socket) with trust authentication for the superuser {@code postgres}.
 */
final class PostgresServer {
  private static final Logger log = LoggerFactory.getLogger(PostgresServer.class);
  static final String SUPERUSER = "postgres";

  private final Path dataDir;
  private final Path pgBin;
  private final Path pgData;
  private final Path logFile;
  private final int port;
  private final RunAs runAs;

  private PostgresServer(Path dataDir, Path pgBin, int port, RunAs runAs) {
    this.dataDir = dataDir;
    this.pgBin = pgBin;
    this.pgData = dataDir.resolve("postgres");
    this.logFile = dataDir.resolve("logs").resolve("postgres.log");
    this.port = port;
    this.runAs = runAs;
  }

  /** {@code dataDir} must be absolute and real (no symlinks), so that it matches leftover servers' command lines. */
  static PostgresServer start(Path dataDir, int port, String database) throws IOException {
    Path pgBin = PostgresBinaries.install(dataDir.resolve("bin")).resolve("bin");
    RunAs runAs = RunAs.forPostgres(pgBin.resolve(exe("postgres")), dataDir);
    PostgresServer server = new PostgresServer(dataDir, pgBin, port, runAs);
    String version = server.pg(List.of(server.tool("postgres"), "-V"), Duration.ofSeconds(30)).output();
    server.stopLeftoverServer();
    server.initIfNeeded();
    Processes.requirePortFree(port, "PostgreSQL",
        "Stop it, or set DATABASE_URL to use an existing PostgreSQL server instead.");
    server.startServer();
    try {
      server.ensureDatabase(database);
    } catch (IOException | RuntimeException e) {
      server.stop();
      throw e;
    }
    log.info("Embedded PostgreSQL started: {} on 127.0.0.1:{}, data {}, log {}, run via {}",
        version, port, server.pgData, server.logFile, runAs);
    return server;
  }

  int port() {
    return port;
  }

  /** Fast shutdown (active sessions are disconnected, data is flushed); immediate shutdown if that fails. */
  void stop() {
    if (!Files.exists(pgData.resolve("postmaster.pid"))) {
      return;
    }
    try {
      Processes.Result r = pgCtl(List.of("stop", "-D", pgData.toString(), "-m", "fast", "-w", "-t", "60", "-s"),
          Duration.ofSeconds(90));
      if (r.ok()) {
        log.info("Embedded PostgreSQL stopped");
        return;
      }
      log.warn("pg_ctl stop -m fast failed ({}); trying immediate shutdown", r.output());
      r = pgCtl(List.of("stop", "-D", pgData.toString(), "-m", "immediate", "-w", "-t", "30", "-s"), Duration.ofSeconds(60));
      if (!r.ok()) {
        log.error("Could not stop embedded PostgreSQL: {}", r.output());
      }
    } catch (IOException e) {
      log.error("Could not stop embedded PostgreSQL", e);
    }
  }

  /**
   * After a crash or kill -9 of the JVM the postmaster (daemonized by pg_ctl) keeps running; stop it so this start
   * owns the server. A postmaster.pid whose pid is not our postmaster any more (pid reused after a reboot, which
   * PostgreSQL itself can mistake for a live server when everything runs as root) is removed.
   */
  private void stopLeftoverServer() throws IOException {
    Path pidFile = pgData.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    OptionalLong pid = Processes.readPid(pidFile);
    if (pid.isEmpty()) {
      log.warn("Removing unreadable {}", pidFile);
      Files.deleteIfExists(pidFile);
      return;
    }
    long p = pid.getAsLong();
    if (!Processes.isAlive(p)) {
      log.info("Removing stale {} (pid {} is gone; previous run did not shut down cleanly)", pidFile, p);
      Files.deleteIfExists(pidFile);
      return;
    }
    List<String> cmd = Processes.commandLine(p);
    if (cmd.isEmpty()) {
      log.warn("{} names live pid {} whose command line cannot be read; leaving it to PostgreSQL", pidFile, p);
      return;
    }
    if (!isPostmasterFor(cmd)) {
      log.info("Removing stale {} (pid {} is now an unrelated process: {})", pidFile, p, String.join(" ", cmd));
      Files.deleteIfExists(pidFile);
      return;
    }
    log.warn("PostgreSQL from a previous run (pid {}) is still running on {}; stopping it", p, pgData);
    Processes.Result r = pgCtl(List.of("stop", "-D", pgData.toString(), "-m", "fast", "-w", "-t", "60", "-s"),
        Duration.ofSeconds(90));
    // pg_ctl returns once postmaster.pid is gone, a moment before the process itself has exited.
    if (!r.ok() || !Processes.waitForExit(p, Duration.ofSeconds(15))) {
      log.warn("pg_ctl stop failed ({}); terminating pid {}", r.output(), p);
      if (!Processes.terminate(p, Duration.ofSeconds(30))) {
        throw new IllegalStateException("Cannot stop leftover PostgreSQL pid " + p + " on " + pgData);
      }
      Files.deleteIfExists(pidFile);
    }
  }

  /** argv[0] is a postgres/postmaster binary and "-D <our data dir>" is among the arguments. */
  private boolean isPostmasterFor(List<String> cmd) {
    Path argv0 = Path.of(cmd.get(0)).getFileName();
    String prog = argv0 == null ? "" : argv0.toString();
    if (!(prog.equals(exe("postgres")) || prog.equals(exe("postmaster")))) {
      return false;
    }
    for (int i = 0; i + 1 < cmd.size(); i++) {
      if (cmd.get(i).equals("-D") && Path.of(cmd.get(i + 1)).toAbsolutePath().normalize().equals(pgData)) {
        return true;
      }
    }
    return false;
  }

  private void initIfNeeded() throws IOException {
    if (Files.isRegularFile(pgData.resolve("PG_VERSION"))) {
      ensureOwner(pgData);
      return;
    }
    if (Files.isDirectory(pgData)) {
      try (Stream<Path> entries = Files.list(pgData)) {
        if (entries.findAny().isPresent()) {
          throw new IllegalStateException(pgData + " is not empty but is not a PostgreSQL data directory"
              + " (no PG_VERSION). Move it away, or use another data directory.");
        }
      }
    }
    // initdb into a scratch directory, then rename: a half-initialized cluster never sits at pgData.
    Path tmp = dataDir.resolve("postgres.initdb-tmp");
    Processes.deleteTree(tmp);
    Files.createDirectories(tmp);
    PostgresBinaries.setPermissions(tmp, 0700);
    if (runAs.managesOwnership()) {
      Processes.chown(tmp, runAs.uid, runAs.gid);
    }
    log.info("Initializing a new PostgreSQL cluster in {}", pgData);
    Processes.Result r = pg(List.of(tool("initdb"), "-D", tmp.toString(), "-U", SUPERUSER, "-A", "trust",
        "-E", "UTF8", "--no-locale"), Duration.ofMinutes(5));
    if (!r.ok()) {
      throw new IOException("initdb failed (exit " + r.exitCode() + "):\n" + r.output());
    }
    log.debug("initdb output:\n{}", r.output());
    Files.deleteIfExists(pgData); // an empty directory at most
    Files.move(tmp, pgData, StandardCopyOption.ATOMIC_MOVE);
  }

  private void startServer() throws IOException {
    Files.createDirectories(logFile.getParent());
    if (!Files.exists(logFile)) {
      Files.createFile(logFile);
    }
    if (runAs.managesOwnership()) {
      Processes.chown(logFile, runAs.uid, runAs.gid); // pg_ctl opens it as the PostgreSQL user
    }
    // pg_ctl runs the options through /bin/sh: '' is the empty value (no Unix socket, TCP on loopback only).
    String options = "-p " + port + " -c listen_addresses=127.0.0.1 -c unix_socket_directories=''";
    Processes.Result r = pgCtl(List.of("start", "-D", pgData.toString(), "-l", logFile.toString(), "-w", "-t", "120",
        "-s", "-o", options), Duration.ofSeconds(150));
    if (!r.ok()) {
      throw new IOException("PostgreSQL did not start (pg_ctl exit " + r.exitCode() + "): " + r.output()
          + "\nLast lines of " + logFile + ":\n" + Processes.tail(logFile, 30));
    }
  }

  /** Creates {@code database} if missing (JDBC, as the superuser over TCP). */
  private void ensureDatabase(String database) throws IOException {
    String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    Properties props = new Properties();
    props.setProperty("user", SUPERUSER);
    props.setProperty("connectTimeout", "10");
    props.setProperty("ApplicationName", "gpt-api embedded setup");
    org.postgresql.Driver driver = new org.postgresql.Driver();
    SQLException last = null;
    for (int attempt = 0; attempt < 50; attempt++) {
      try (Connection c = driver.connect(url, props)) {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
          ps.setString(1, database);
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
              return;
            }
          }
        }
        try (Statement st = c.createStatement()) {
          st.execute("CREATE DATABASE \"" + database.replace("\"", "\"\"") + "\"");
        }
        log.info("Created database {}", database);
        return;
      } catch (SQLException e) {
        last = e;
        try {
          Thread.sleep(200);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    throw new IOException("Cannot create database " + database + " on embedded PostgreSQL at " + url, last);
  }

  /** Root only: give the data directory to the account PostgreSQL runs as (e.g. after switching strategy). */
  private void ensureOwner(Path dir) throws IOException {
    if (runAs.managesOwnership() && Processes.ownerUid(dir) != runAs.uid) {
      log.info("Changing owner of {} to uid {} for {}", dir, runAs.uid, runAs);
      Processes.chownTree(dir, runAs.uid, runAs.gid);
    }
  }

  private Processes.Result pgCtl(List<String> args, Duration timeout) throws IOException {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(tool("pg_ctl"));
    cmd.addAll(args);
    return pg(cmd, timeout);
  }

  private Processes.Result pg(List<String> command, Duration timeout) throws IOException {
    return Processes.run(runAs.command(command), dataDir, timeout);
  }

  private String tool(String name) {
    return pgBin.resolve(exe(name)).toString();
  }

  private static String exe(String name) {
    return Processes.isWindows() ? name + ".exe" : name;
  }
}
