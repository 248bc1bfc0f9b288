package ai.gpt.api.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.ChildCommand;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The /docs page's curl examples, run as printed (by bash, with GPTAPI_BASE_URL and GPTAPI_KEY set as the page tells
 * the reader to) against a live gateway with fake llama.cpp backends: an example that no longer matches the API
 * fails here. The page and this test read the same file, src/main/frontend/src/pages/docs/examples.json.
 */
@ExtendWith(VertxExtension.class)
class DocsExamplesTest {
  private static final Path PROJECT = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
  static final Path EXAMPLES = PROJECT.resolve("src/main/frontend/src/pages/docs/examples.json");

  private GatewayHarness gw;
  private FakeLlamaServer chat;
  private FakeLlamaServer embed;

  @BeforeEach
  void start(Vertx vertx) {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")) || Files.isExecutable(Path.of("/bin/curl")),
        "curl is not installed");
    gw = GatewayHarness.start(vertx);
    chat = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    embed = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().embeddings(true)).await();
    gw.addBackend("gpt-fast", chat);
    gw.addBackend("embed", embed);
  }

  @AfterEach
  void stop() {
    gw.close();
    chat.close().await();
    embed.close().await();
  }

  @Test
  @DisplayName("every curl example of the docs page runs against the gateway and answers what the page says")
  void curlExamplesRun() throws Exception {
    JsonObject doc = new JsonObject(Files.readString(EXAMPLES));
    Map<String, String> env = Map.of("GPTAPI_BASE_URL", "http://127.0.0.1:" + gw.port(), "GPTAPI_KEY",
        gw.createKey());
    List<String> failures = new ArrayList<>();
    int ran = 0;
    for (Object s : doc.getJsonArray("sections")) {
      JsonObject section = (JsonObject) s;
      String curl = section.getJsonObject("code").getString("curl");
      JsonArray expect = section.getJsonArray("curl_expect");
      assertFalse(expect.isEmpty(), section.getString("id") + " has no curl_expect: say what its answer shows");
      ChildCommand.Result result = ChildCommand.run(PROJECT, List.of("bash", "-euo", "pipefail", "-c",
          runnable(curl)), env, 60);
      ran++;
      List<String> missing = expect.stream().map(String.class::cast).filter(e -> !result.output().contains(e))
          .toList();
      if (result.exitCode() != 0 || !missing.isEmpty()) {
        failures.add(section.getString("id") + ": exit " + result.exitCode() + ", missing " + missing + "\n"
            + result.output());
      }
    }
    assertEquals(doc.getJsonArray("sections").size(), ran);
    assertTrue(failures.isEmpty(), String.join("\n\n", failures));
  }

  /** The example without its `export` lines: those are the reader's setup, which the test's environment replaces. */
  static String runnable(String curl) {
    return curl.lines().filter(l -> !l.startsWith("export ")).collect(Collectors.joining("\n"));
  }
}
