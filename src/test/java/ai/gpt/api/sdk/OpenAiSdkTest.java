package ai.gpt.api.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.testing.ChildCommand;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
    ChildCommand.Result result = ChildCommand.run(PROJECT, List.of("node", "--test", "--test-reporter=spec", SCRIPT),
        env, NODE_TIMEOUT_SECONDS);
    assertEquals(0, result.exitCode(), "node --test " + SCRIPT + " failed:\n" + result.output());
  }

  /** {@code npm ci} from the committed lockfile when the SDK is not installed yet (fresh clone). */
  private static void ensureNodeModules() throws Exception {
    if (Files.isRegularFile(SDK_DIR.resolve("node_modules/openai/package.json"))) {
      return;
    }
    ChildCommand.Result result = ChildCommand.run(PROJECT,
        List.of("npm", "ci", "--prefix", "src/test/sdk", "--no-audit", "--no-fund"),
        Map.of(), NPM_TIMEOUT_SECONDS);
    assertEquals(0, result.exitCode(), "npm ci --prefix src/test/sdk failed:\n" + result.output());
  }
}
