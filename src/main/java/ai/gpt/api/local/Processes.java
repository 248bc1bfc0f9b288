package ai.gpt.api.local;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** Small process, file-ownership and port helpers for the embedded local servers (Linux first, /proc where available). */
final class Processes {
  private Processes() {}

  record Result(int exitCode, String output) {
    boolean ok() {
      return exitCode == 0;
    }
  }

  /**
   * Runs a command to completion, stdout and stderr merged. PG* variables are removed so the operator's libpq settings
   * cannot redirect PostgreSQL's own tools, and messages are forced to the C locale.
   */
  static Result run(List<String> command, Path workDir, Duration timeout) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    if (workDir != null) {
      pb.directory(workDir.toFile());
    }
    pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
    pb.environment().put("LC_ALL", "C");
    Process p = pb.start();
    p.getOutputStream().close();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Thread reader = new Thread(() -> {
      try (InputStream in = p.getInputStream()) {
        in.transferTo(out);
      } catch (IOException ignored) {
        // process gone; keep what was read
      }
    }, "embedded-services-output");
    reader.setDaemon(true);
    reader.start();
    try {
      if (!p.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException("Timed out after " + timeout.toSeconds() + "s: " + String.join(" ", command)
            + "\n" + out.toString(StandardCharsets.UTF_8));
      }
      reader.join(2_000);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("Interrupted while running " + String.join(" ", command));
    }
    return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8).strip());
  }

  /** Like {@link #run} but answers false instead of throwing when the program is missing, fails or hangs. */
  static boolean succeeds(List<String> command, Path workDir) {
    try {
      return run(command, workDir, Duration.ofSeconds(15)).ok();
    } catch (IOException e) {
      return false;
    }
  }

  static boolean isWindows() {
    return System.getProperty("os.name", "").toLowerCase().startsWith("windows");
  }

  /** Effective uid 0? /proc/self belongs to the effective uid; elsewhere fall back to the user name. */
  static boolean isRoot() {
    if (isWindows()) {
      return false;
    }
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (Exception e) {
      return "root".equals(System.getProperty("user.name"));
    }
  }

  /** uid and gid of a local account from /etc/passwd; the conventional 65534/65534 for "nobody" if absent. */
  static int[] account(String name) {
    try {
      for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
        String[] f = line.split(":");
        if (f.length >= 4 && f[0].equals(name)) {
          return new int[] {Integer.parseInt(f[2]), Integer.parseInt(f[3])};
        }
      }
    } catch (IOException | NumberFormatException ignored) {
      // fall through
    }
    return new int[] {65534, 65534};
  }

  static OptionalLong readPid(Path pidFile) {
    try {
      List<String> lines = Files.readAllLines(pidFile);
      return lines.isEmpty() ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(lines.get(0).trim()));
    } catch (IOException | NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /** Alive and not a zombie (an exited process its parent, often init, has not reaped yet). */
  static boolean isAlive(long pid) {
    if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
      return false;
    }
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.UTF_8);
      int close = stat.lastIndexOf(')'); // "pid (comm) STATE ...", comm may contain anything
      return close < 0 || close + 2 >= stat.length() || stat.charAt(close + 2) != 'Z';
    } catch (IOException | RuntimeException e) {
      return true;
    }
  }

  /** argv of a process (empty if unknown). Processes that retitle themselves may show one space-separated string. */
  static List<String> commandLine(long pid) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline"));
      List<String> args = new ArrayList<>();
      int start = 0;
      for (int i = 0; i < raw.length; i++) {
        if (raw[i] == 0) {
          args.add(new String(raw, start, i - start, StandardCharsets.UTF_8));
          start = i + 1;
        }
      }
      if (start < raw.length) {
        args.add(new String(raw, start, raw.length - start, StandardCharsets.UTF_8));
      }
      return args;
    } catch (IOException e) {
      Optional<ProcessHandle.Info> info = ProcessHandle.of(pid).map(ProcessHandle::info);
      List<String> args = new ArrayList<>();
      info.flatMap(ProcessHandle.Info::command).ifPresent(args::add);
      info.flatMap(ProcessHandle.Info::arguments).ifPresent(a -> args.addAll(List.of(a)));
      return args;
    }
  }

  /** Path of the program a process runs (may end in " (deleted)"), if it can be read. */
  static Optional<String> executable(long pid) {
    try {
      return Optional.of(Files.readSymbolicLink(Path.of("/proc/" + pid + "/exe")).toString());
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return ProcessHandle.of(pid).flatMap(h -> h.info().command());
    }
  }

  /** SIGTERM, wait up to {@code grace}, then SIGKILL. Returns true once the process is gone. */
  static boolean terminate(long pid, Duration grace) {
    Optional<ProcessHandle> handle = ProcessHandle.of(pid);
    if (handle.isEmpty() || !handle.get().isAlive()) {
      return true;
    }
    handle.get().destroy();
    if (waitForExit(pid, grace)) {
      return true;
    }
    handle.get().destroyForcibly();
    return waitForExit(pid, Duration.ofSeconds(10));
  }

  static boolean waitForExit(long pid, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (isAlive(pid)) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return !isAlive(pid);
      }
    }
    return true;
  }

  /** Fails with a clear message if something already listens on 127.0.0.1:port. */
  static void requirePortFree(int port, String service, String hint) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
    } catch (BindException e) {
      throw new IllegalStateException("Cannot start embedded " + service + ": port " + port
          + " on 127.0.0.1 is already in use by another process. " + hint);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot check port " + port + " for embedded " + service + ": " + e, e);
    }
  }

  /** chown -R, children before their directory so an interrupted run is redone next time (the top is checked). */
  static void chownTree(Path root, int uid, int gid) throws IOException {
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        chown(file, uid, gid);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
        if (exc != null) {
          throw exc;
        }
        chown(dir, uid, gid);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  static void chown(Path p, int uid, int gid) throws IOException {
    Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
  }

  static int ownerUid(Path p) throws IOException {
    return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.deleteIfExists(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
        Files.deleteIfExists(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /** The last {@code n} lines of a log file, for error messages. */
  static String tail(Path file, int n) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    } catch (NoSuchFileException e) {
      return "(no log file " + file + ")";
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e.getMessage() + ")";
    }
  }
}
