package ai.gpt.api.webhooks;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.account.SecretBox;
import ai.gpt.api.config.WebhookSettings;
import ai.gpt.api.db.Database;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The README's receiver example, run as written (only its secret and port filled in) with python3: a real delivery
 * verifies and is answered 204, a forged one gets 401. Skipped where python3 is missing.
 */
@ExtendWith(VertxExtension.class)
class ReadmeReceiverTest {
  private static final Pattern PYTHON = Pattern.compile("```python\\n(.*?)```", Pattern.DOTALL);
  private Pool pool;
  private Vertx replica;
  private Process python;

  @BeforeEach
  void setUp(Vertx vertx) {
    TestServices.ensureDatabase();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 2);
    pool.query("TRUNCATE organizations, users, webhook_outbox RESTART IDENTITY CASCADE").execute().await();
    replica = Vertx.vertx();
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    if (python != null) {
      python.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    replica.close().await();
    pool.close().await();
  }

  private static String receiverExample() throws IOException {
    Matcher m = PYTHON.matcher(Files.readString(Path.of("README.md")));
    while (m.find()) {
      if (m.group(1).contains("webhook-signature")) {
        return m.group(1);
      }
    }
    throw new AssertionError("no Python receiver example in README.md");
  }

  private static boolean pythonAvailable() {
    try {
      return new ProcessBuilder("python3", "--version").start().waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  private static boolean listening(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  @DisplayName("the README's Python receiver verifies a real delivery (204) and refuses a forged one (401)")
  void readmeExampleVerifies(Vertx vertx) throws Exception {
    Assumptions.assumeTrue(pythonAvailable(), "python3 is not installed");
    long org = pool.query("INSERT INTO organizations (name) VALUES ('readme') RETURNING id").execute().await()
        .iterator().next().getLong(0);
    int port = GatewayHarness.freePort();
    EndpointStore store = new EndpointStore(pool, new SecretBox(TestServices.SECRETS_KEY));
    var endpoint = store.create(org, "http://127.0.0.1:" + port + "/", new String[] {"key.created"}, "").await();
    String example = receiverExample();
    String script = example.replace("SECRETS = [\"whsec_...\"]", "SECRETS = [\"" + endpoint.getString("secret") + "\"]")
        .replace("HTTPServer((\"0.0.0.0\", 8000), Hook)", "HTTPServer((\"127.0.0.1\", " + port + "), Hook)");
    assertTrue(!script.equals(example) && script.contains(endpoint.getString("secret")) && script.contains(
        String.valueOf(port)), "the example's secret and address lines are as the test expects");
    Path out = Files.createTempFile("readme-receiver", ".log");
    python = new ProcessBuilder("python3", "-u", "-c", script).redirectErrorStream(true)
        .redirectOutput(out.toFile()).start();
    awaitTrue("the example listening", 30_000, () -> listening(port));

    Pool own = Database.pool(replica, TestServices.DATABASE_URL, 2);
    replica.deployVerticle(new DeliveryWorker(own, new EndpointStore(own, new SecretBox(TestServices.SECRETS_KEY)),
        new WebhookSettings(true, 100, 200, 600_000, 3_600_000, 0, 7, 30_000, 50, 4), "readme",
        (to, subject, text) -> Future.succeededFuture(), "http://localhost")).await();
    String messageId = store.test(org, endpoint.getLong("id"), 600_000).await().getString("id");
    awaitTrue("delivered", 30_000, () -> "delivered".equals(pool.preparedQuery("SELECT status FROM"
        + " webhook_deliveries WHERE message_id = $1").execute(Tuple.of(messageId)).await().iterator().next()
        .getString(0)));
    assertEquals(204, pool.preparedQuery("SELECT last_status FROM webhook_deliveries WHERE message_id = $1")
        .execute(Tuple.of(messageId)).await().iterator().next().getInteger(0), "verified and accepted");
    awaitTrue("the example printed the event", () -> {
      try {
        return Files.readString(out, StandardCharsets.UTF_8).contains("webhook.test");
      } catch (IOException e) {
        return false;
      }
    });

    WebClient client = WebClient.create(vertx);
    try {
      String body = "{\"type\":\"webhook.test\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"data\":{}}";
      int forged = client.post(port, "127.0.0.1", "/").putHeader("webhook-id", "msg_forged")
          .putHeader("webhook-timestamp", String.valueOf(System.currentTimeMillis() / 1000))
          .putHeader("webhook-signature", "v1," + java.util.Base64.getEncoder().encodeToString(new byte[32]))
          .sendBuffer(Buffer.buffer(body)).await().statusCode();
      assertEquals(401, forged, "a wrong signature is refused");
    } finally {
      client.close();
    }
  }
}
