package ai.gpt.api.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the official OpenAI Node SDK ({@code src/test/sdk}, pinned in its package-lock.json) against a real gateway
 * with fake llama.cpp backends. The SDK only gets a base URL and keys; see {@code openai-sdk.test.mjs} for what it
 * checks. Needs Node.js and npm on the PATH; {@code npm ci} runs here when {@code node_modules} is missing.
 */
@ExtendWith(VertxExtension.class)
class OpenAiSdkTest {
  private static final Path PROJECT = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
  private static final Path SDK_DIR = PROJECT.resolve("src/test/sdk");
  private static final String SCRIPT = "src/test/sdk/openai-sdk.test.mjs";
  private static final long NPM_TIMEOUT_SECONDS = 300;
  private static final long NODE_TIMEOUT_SECONDS = 120;

  private GatewayHarness gw;
  private FakeLlamaServer chat;
  private FakeLlamaServer embed;

  @BeforeEach
  void setUp(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    // --alias as the README deploys llama-server, so responses name the API model id.
    chat = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().modelAlias("gpt-fast")).await();
    embed = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().embeddings(true).modelAlias("embed")).await();
    gw.addBackend("gpt-fast", chat);
    gw.addBackend("embed", embed);
  }

  @AfterEach
  void tearDown() {
    if (gw != null) {
      gw.close();
    }
    if (chat != null) {
      chat.close().await();
    }
    if (embed != null) {
      embed.close().await();
    }
  }

  @Test
  @DisplayName("The official OpenAI Node SDK works by changing only baseURL and apiKey: chat (whole and streamed, "
      + "with and without include_usage), legacy completions, embeddings (SDK's default base64 and float), models "
      + "list/retrieve, and 401/403/404/400 mapped to its AuthenticationError/PermissionDeniedError/NotFoundError/"
      + "BadRequestError")
  void officialNodeSdk() throws Exception {
    ensureNodeModules();
    Map<String, String> env = Map.of(
        "GPT_API_BASE_URL", "http://127.0.0.1:" + gw.port() + "/v1",
        "GPT_API_KEY", gw.createKey(),
        "GPT_API_LIMITED_KEY", gw.createKey("gpt-fast"));
    Result result = run(List.of("node", "--test", "--test-reporter=spec", SCRIPT), env, NODE_TIMEOUT_SECONDS);
    assertEquals(0, result.exitCode, "node --test " + SCRIPT + " failed:\n" + result.output);
  }

  /** {@code npm ci} from the committed lockfile when the SDK is not installed yet (fresh clone). */
  private static void ensureNodeModules() throws Exception {
    if (Files.isRegularFile(SDK_DIR.resolve("node_modules/openai/package.json"))) {
      return;
    }
    Result result = run(List.of("npm", "ci", "--prefix", "src/test/sdk", "--no-audit", "--no-fund"),
        Map.of(), NPM_TIMEOUT_SECONDS);
    assertEquals(0, result.exitCode, "npm ci --prefix src/test/sdk failed:\n" + result.output);
  }

  private record Result(int exitCode, String output) {}

  /** Runs a command in the project root, echoing and collecting its combined output. */
  private static Result run(List<String> command, Map<String, String> extraEnv, long timeoutSeconds)
      throws Exception {
    ProcessBuilder builder = new ProcessBuilder(command).directory(PROJECT.toFile()).redirectErrorStream(true);
    // The SDK reads OPENAI_* variables (base URL, organization, project...); the test must see only its own.
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
    }, "sdk-test-output");
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
