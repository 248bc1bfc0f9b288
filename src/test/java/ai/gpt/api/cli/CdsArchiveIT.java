package ai.gpt.api.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.GatewayProcess;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.json.JsonArray;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image's class-data-sharing archive, with the commands of src/main/docker/Dockerfile run against the built jar
 * (so this runs after {@code package}, in the pom's jar-tests execution): the training RUN line writes the archive
 * without PostgreSQL or Redis, and a gateway started with the ENTRYPOINT's options against the test database and
 * Redis maps its serving classes from it. Run it with {@code mvn verify -Dtest=CdsArchiveIT}: in {@code mvn test} the
 * jar is not built yet, and the pom keeps the "jar" group out of that phase.
 */
@Tag("jar")
class CdsArchiveIT {
  private static final Path JAR = Path.of("target", "gpt-api.jar").toAbsolutePath();
  private static final Path DOCKERFILE = Path.of("src", "main", "docker", "Dockerfile");
  private static final String IMAGE_JAR = "/app/gpt-api.jar";
  private static final String IMAGE_ARCHIVE = "/app/gpt-api.jsa";
  private static final Pattern CLASS_LOAD = Pattern.compile("\\[class,load\\s*\\] (\\S+) source: (.*)$");
  private static final String FROM_ARCHIVE = "shared objects file (top)";
  private static final long TIMEOUT_SECONDS = 60;

  @TempDir
  Path dir;

  @Test
  void trainingWritesAnArchiveTheGatewayLoadsItsServingClassesFrom() throws Exception {
    assertTrue(Files.isRegularFile(JAR), JAR + " is missing: this test runs after 'package' (mvn verify)");
    String dockerfile = Files.readString(DOCKERFILE);
    Path archive = dir.resolve("gpt-api.jsa");

    List<String> training = image(trainingCommand(dockerfile), archive);
    training.add("train-cds");
    Path trainingLog = dir.resolve("train-cds.log");
    Process train = start(training, Map.of("LOG_FORMAT", "json"), trainingLog);
    assertTrue(train.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS), "train-cds still running after 60 s");
    String trainingOutput = Files.readString(trainingLog);
    assertEquals(0, train.exitValue(), trainingOutput);
    assertTrue(trainingOutput.contains("the serving path ran in"), trainingOutput);
    assertTrue(Files.size(archive) > 10_000_000, "archive of " + Files.size(archive) + " bytes");

    TestServices.ensureDatabase();
    Path classes = dir.resolve("classes.txt");
    List<String> serve = image(entrypoint(dockerfile), archive);
    // What the JVM loads and from where. Sharing stays at the image's default (auto: an unusable archive is
    // ignored), so it is the class sources below that tell whether the archive was used.
    serve.add(1, "-Xlog:class+load=info:file=" + classes);
    serve.add("serve");
    Map<String, String> env = new HashMap<>(GatewayProcess.environment("cds-it"));
    int metricsPort = GatewayHarness.freePort();
    env.put("PORT", String.valueOf(GatewayHarness.freePort()));
    env.put("METRICS_PORT", String.valueOf(metricsPort));
    env.put("LOG_FORMAT", "json");
    Path gatewayLog = dir.resolve("gateway.log");
    Process gateway = start(serve, env, gatewayLog);
    try {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      awaitReady(http, gateway, metricsPort, gatewayLog);
      // One request through the public port: the request path's classes load too.
      HttpResponse<String> models = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + env.get("PORT") + "/v1/models")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(401, models.statusCode(), models.body());
    } finally {
      gateway.destroy();
      gateway.waitFor(30, TimeUnit.SECONDS);
    }

    Map<String, String> sources = new HashMap<>();
    for (String line : Files.readAllLines(classes)) {
      Matcher m = CLASS_LOAD.matcher(line);
      if (m.find()) {
        sources.putIfAbsent(m.group(1), m.group(2));
      }
    }
    for (String name : List.of("ai.gpt.api.Gateway", "ai.gpt.api.http.GatewayVerticle",
        "ai.gpt.api.proxy.ProxyHandler", "ai.gpt.api.proxy.RequestPreparer", "ai.gpt.api.auth.AuthHandler",
        "ai.gpt.api.error.FailureHandler", "ai.gpt.api.metering.Metering", "ai.gpt.api.usage.UsageWriter",
        "io.vertx.core.http.impl.HttpServerImpl", "io.vertx.core.http.impl.Http1xServerRequest",
        "io.vertx.ext.web.impl.RouterImpl", "io.netty.channel.nio.NioIoHandler",
        "io.micrometer.prometheusmetrics.PrometheusMeterRegistry", "org.flywaydb.core.Flyway")) {
      assertEquals(FROM_ARCHIVE, sources.get(name), name);
    }
    long fromArchive = sources.values().stream().filter(FROM_ARCHIVE::equals).count();
    long fromJar = sources.values().stream().filter(s -> s.startsWith("file:")).count();
    // Without the archive every class of the jar comes from it (about 3,300 at a start); with it, a few dozen are
    // left (netty's JFR events, the Argon2 hasher, caffeine's async caches: 33 when this was written).
    assertTrue(fromArchive > 3000 && fromJar < fromArchive / 20,
        fromArchive + " classes from the archive, " + fromJar + " from the jar");
  }

  /** The command of the Dockerfile's training RUN line (before its {@code &&}). */
  private static List<String> trainingCommand(String dockerfile) {
    String run = dockerfile.lines().filter(l -> l.startsWith("RUN java") && l.contains("train-cds")).findFirst()
        .orElseThrow(() -> new AssertionError("no 'RUN java ... train-cds' line in the Dockerfile"));
    List<String> words = new ArrayList<>(Arrays.asList(run.substring("RUN ".length()).split(" && ")[0].trim()
        .split("\\s+")));
    assertEquals("train-cds", words.remove(words.size() - 1));
    return words;
  }

  private static List<String> entrypoint(String dockerfile) {
    String line = dockerfile.lines().filter(l -> l.startsWith("ENTRYPOINT ")).findFirst()
        .orElseThrow(() -> new AssertionError("no ENTRYPOINT in the Dockerfile"));
    return new JsonArray(line.substring("ENTRYPOINT ".length())).stream().map(Object::toString).toList();
  }

  /** The image's command with this JVM's java and the built jar, and the archive in the test's directory. */
  private static List<String> image(List<String> command, Path archive) {
    List<String> out = new ArrayList<>();
    for (String word : command) {
      out.add(word.equals("java") ? Path.of(System.getProperty("java.home"), "bin", "java").toString()
          : word.replace(IMAGE_ARCHIVE, archive.toString()).replace(IMAGE_JAR, JAR.toString()));
    }
    assertTrue(out.contains(JAR.toString()) && out.stream().anyMatch(w -> w.contains(archive.toString())),
        "the Dockerfile's command no longer names " + IMAGE_JAR + " and " + IMAGE_ARCHIVE + ": " + command);
    return out;
  }

  /** Only the given environment (plus PATH), run in the test's directory, so no .env is read. */
  private Process start(List<String> command, Map<String, String> env, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().clear();
    pb.environment().put("PATH", System.getenv("PATH"));
    pb.environment().putAll(env);
    return pb.start();
  }

  private static void awaitReady(HttpClient http, Process gateway, int metricsPort, Path log) throws Exception {
    long deadline = System.currentTimeMillis() + TIMEOUT_SECONDS * 1000;
    HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/ready"))
        .timeout(Duration.ofSeconds(2)).build();
    while (true) {
      assertTrue(gateway.isAlive(), () -> "the gateway exited: " + tail(log));
      try {
        if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (IOException notListeningYet) {
        // the operator port opens once the gateway has started
      }
      assertTrue(System.currentTimeMillis() < deadline, () -> "not ready in 60 s: " + tail(log));
      Thread.sleep(50);
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return e.toString();
    }
  }
}
