package ai.gpt.api.routing;

import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * "Too many open files" is this process's problem, not the backend's. The test lowers its own JVM's descriptor limit
 * with prlimit(1) for a moment, so the gateway (in this JVM) cannot open an upstream socket.
 */
@ExtendWith(VertxExtension.class)
class LocalFailureTest {
  private GatewayHarness gw;
  private FakeLlamaServer fake;

  @AfterEach
  void tearDown() {
    gw.close();
    fake.close().await();
  }

  @Test
  @DisplayName("running out of file descriptors answers 503 and never quarantines a healthy backend")
  void outOfDescriptorsIsNotTheBackendsFault(Vertx vertx) throws Exception {
    gw = GatewayHarness.start(vertx, Map.of());
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    long backend = gw.addBackend("gpt-fast", fake);
    String key = gw.createKey();
    JsonObject stream = chat("gpt-fast").put("stream", true); // llama-server closes after a stream: a new socket each
    assertEquals(200, gw.post("/v1/chat/completions", key, stream).statusCode());
    LocalFailures.isLocal(new IOException("load the class while files can still be opened"));

    long pid = ProcessHandle.current().pid();
    String limits = run("prlimit", "--pid", String.valueOf(pid), "--nofile", "--raw", "--noheadings", "-o", "SOFT,HARD");
    String[] softHard = limits.strip().split("\\s+");
    // Restores the limit by itself: while it is lowered, this JVM cannot start a process.
    new ProcessBuilder("sh", "-c", "sleep 3; prlimit --pid " + pid + " --nofile=" + softHard[0] + ":" + softHard[1])
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    run("prlimit", "--pid", String.valueOf(pid), "--nofile=3:" + softHard[1]);
    HttpResponse<Buffer> starved = gw.post("/v1/chat/completions", key, stream);
    GatewayHarness.awaitTrue("the descriptor limit restored", LocalFailureTest::canOpenFiles);

    assertEquals(503, starved.statusCode(), starved.bodyAsString());
    assertEquals("service_unavailable", starved.bodyAsJsonObject().getJsonObject("error").getString("code"));
    assertTrue(gw.backendHealthy(backend), "the backend stays in rotation");
    assertEquals(200, gw.post("/v1/chat/completions", key, stream).statusCode());
    assertTrue(gw.metrics().contains("gptapi_upstream_local_failures_total{model=\"gpt-fast\"} 1.0"));
  }

  private static boolean canOpenFiles() {
    try (FileInputStream ignored = new FileInputStream("/dev/null")) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, process.waitFor(), String.join(" ", command) + ": " + out);
    return out;
  }
}
