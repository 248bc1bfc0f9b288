package ai.gpt.api.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a command (node, npm) for a test, echoing and collecting its combined output, killed after a timeout. */
public final class ChildCommand {
  private ChildCommand() {}

  public record Result(int exitCode, String output) {}

  public static Result run(Path directory, List<String> command, Map<String, String> extraEnv, long timeoutSeconds)
      throws Exception {
    ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true);
    // The OpenAI SDK reads OPENAI_* variables (base URL, organization, project...); a test must see only its own.
    builder.environment().keySet().removeIf(k -> k.startsWith("OPENAI_"));
    builder.environment().putAll(extraEnv);
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      return fail("Cannot run '" + command.get(0) + "': Node.js and npm must be on the PATH for this test "
          + "(Debian/Ubuntu: apt-get install nodejs npm; .ci/run installs them). " + e.getMessage(), e);
    }
    StringBuilder output = new StringBuilder();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          System.out.println("[" + command.get(0) + "] " + line);
          synchronized (output) {
            output.append(line).append('\n');
          }
        }
      } catch (IOException ignored) {
        // the process was killed; what was read is enough
      }
    }, "child-command-output");
    reader.setDaemon(true);
    reader.start();
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      reader.join(5_000);
      synchronized (output) {
        return fail(String.join(" ", command) + " timed out after " + timeoutSeconds + " s:\n" + output);
      }
    }
    reader.join(10_000);
    synchronized (output) {
      return new Result(process.exitValue(), output.toString());
    }
  }
}
