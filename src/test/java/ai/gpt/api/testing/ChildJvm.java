package ai.gpt.api.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Starts a class of the test classpath in a JVM of its own, so that a test can kill it for real (SIGKILL: no
 * shutdown hook, no flush, sockets cut by the kernel). Output goes to a log file; the environment is only what
 * the caller gives (plus PATH), so a developer's variables or .env cannot change the process under test.
 */
public final class ChildJvm {
  /** Exit status of a process killed by signal 9 as Java reports it on Linux: 128 + SIGKILL. */
  public static final int KILLED_BY_SIGKILL = 128 + 9;

  /** Every child started by this JVM: killed when it exits, should a test's own cleanup never run (a killed fork). */
  private static final Set<Process> CHILDREN = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> CHILDREN.forEach(Process::destroyForcibly),
        "child-jvm-reaper"));
  }

  private ChildJvm() {}

  public static Process start(String mainClass, List<String> args, Map<String, String> env, String maxHeap, Path log)
      throws IOException {
    Files.createDirectories(log.toAbsolutePath().getParent());
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + maxHeap,
        // C1 only: a fresh JVM warms up much sooner, so a short test gets a real load on a 2-core machine.
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), mainClass));
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command)
        // Not the project root: a developer's .env there must not change the process under test.
        .directory(log.toAbsolutePath().getParent().toFile())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    Map<String, String> childEnv = builder.environment();
    String path = childEnv.get("PATH");
    childEnv.clear();
    if (path != null) {
      childEnv.put("PATH", path);
    }
    childEnv.putAll(env);
    Process process = builder.start();
    CHILDREN.add(process);
    process.onExit().thenRun(() -> CHILDREN.remove(process));
    return process;
  }

  /**
   * SIGKILL and wait for the exit. Process.destroyForcibly() on Linux sends SIGKILL (ProcessHandleImpl.destroy0(pid,
   * true) -> kill(pid, SIGKILL)); returns the exit status, {@link #KILLED_BY_SIGKILL} when the signal killed it.
   */
  public static int kill(Process process) throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      throw new AssertionError("process " + process.pid() + " did not exit within 10 s of SIGKILL");
    }
    return process.exitValue();
  }

  /** The last lines of a log, without the access log (one line per request, starting with ts=). */
  public static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8).stream()
          .filter(l -> !l.startsWith("ts=")).toList();
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }
}
