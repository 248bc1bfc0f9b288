package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.FakeLlamaServer.Misbehaviour;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A backend that sends more than the gateway holds ({@link UpstreamBounds}) is cut off: its connection is closed
 * rather than read to the end (the fake's writes stop long before its filler is out), the client gets an
 * OpenAI-shaped error promptly, the request is billed once under the usual rules, and the backend is quarantined.
 */
@ExtendWith(VertxExtension.class)
class UpstreamBoundsTest {
  private static final long MIB = 1024 * 1024;

  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private HttpClient raw;
  private String key;

  @BeforeEach
  void setUp(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    gw.addBackend("gpt-fast", fake);
    key = gw.createKey(gw.createOrg("bounds"), null);
    raw = vertx.createHttpClient();
  }

  @AfterEach
  void tearDown() {
    raw.close().await();
    gw.close();
    fake.close().await();
  }

  @Test
  @DisplayName("an SSE event that never ends: the stream ends with an error event, billed for the tokens relayed")
  void endlessEvent() {
    fake.setMisbehaviour(Misbehaviour.ENDLESS_EVENT, 32 * MIB);
    long start = System.nanoTime();
    Answer answer = send(chat(true));
    long ms = (System.nanoTime() - start) / 1_000_000;

    assertEquals(200, answer.status);
    assertTrue(answer.body.length() < 2 * MIB, "the endless event is not relayed: " + answer.body.length());
    String last = lastEvent(answer.body);
    JsonObject error = new JsonObject(last.substring("data: ".length())).getJsonObject("error");
    assertEquals("upstream_error", error.getString("code"), last);
    assertTrue(error.getString("message").contains("larger than " + UpstreamBounds.MAX_EVENT_BYTES), last);
    assertEquals(2, answer.body.split("\"content\":\"", -1).length - 1, "the two tokens before it were relayed");
    assertTrue(ms < 5_000, "ended promptly: " + ms + " ms");
    assertStoppedReading(32 * MIB);

    Row row = usageRow(answer.requestId);
    assertEquals(200, row.getInteger("status"), "a stream cut mid-way is billed as relayed, like any other");
    assertEquals(2, row.getInteger("completion_tokens"), "one token per content chunk relayed");
    assertTrue(row.getBoolean("estimated"));
    assertQuarantined();
  }

  @Test
  @DisplayName("a non-stream answer past the bound: 502 in OpenAI's shape, the prompt billed as estimated")
  void oversizedBody() {
    long filler = UpstreamBounds.MAX_BODY_BYTES + 96 * MIB;
    fake.setMisbehaviour(Misbehaviour.OVERSIZED_BODY, filler);
    Answer answer = send(chat(false));

    assertEquals(502, answer.status, answer.body.length() > 500 ? answer.body.substring(0, 500) : answer.body);
    JsonObject error = new JsonObject(answer.body).getJsonObject("error");
    assertEquals("server_error", error.getString("type"));
    assertEquals("upstream_error", error.getString("code"));
    assertTrue(error.containsKey("param") && error.getString("message").contains("larger than"), answer.body);
    assertStoppedReading(filler);

    Row row = usageRow(answer.requestId);
    assertEquals(502, row.getInteger("status"));
    assertEquals(0, row.getInteger("completion_tokens"));
    assertTrue(row.getInteger("prompt_tokens") > 0, "the backend ran the prompt");
    assertTrue(row.getBoolean("estimated"));
    assertQuarantined();
  }

  @Test
  @DisplayName("an error answer past its bound: cut to a prefix, the backend's status kept, nothing billed")
  void oversizedError() {
    fake.setMisbehaviour(Misbehaviour.OVERSIZED_ERROR, 32 * MIB);
    Answer answer = send(chat(false));

    assertEquals(400, answer.status, answer.body);
    JsonObject error = new JsonObject(answer.body).getJsonObject("error");
    assertEquals("The model backend answered HTTP 400.", error.getString("message"));
    assertStoppedReading(32 * MIB);

    Row row = usageRow(answer.requestId);
    assertEquals(400, row.getInteger("status"));
    assertEquals(0, row.getInteger("prompt_tokens"));
    assertQuarantined();
  }

  /** The fake could not write its filler out: the gateway closed the connection instead of reading it all. */
  private void assertStoppedReading(long filler) {
    GatewayHarness.awaitTrue("the fake's writes stopped", () -> {
      long before = fake.fillerBytesSent();
      try {
        TimeUnit.MILLISECONDS.sleep(200);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
      return fake.fillerBytesSent() == before;
    });
    // Socket buffers on both sides take a few MiB past the point where the gateway stopped reading.
    assertTrue(fake.fillerBytesSent() < filler - 12 * MIB, "sent " + fake.fillerBytesSent() + " of " + filler);
  }

  private void assertQuarantined() {
    GatewayHarness.awaitTrue("the backend was quarantined once",
        () -> gw.metrics().lines().anyMatch(l -> l.startsWith("gptapi_backend_quarantines_total{")
            && l.contains("model=\"gpt-fast\"") && l.endsWith(" 1.0")));
  }

  private Row usageRow(String requestId) {
    assertNotNull(requestId);
    GatewayHarness.awaitTrue("a usage row", () -> gw.pool().preparedQuery(
        "SELECT count(*) FROM usage WHERE request_id = $1").execute(Tuple.of(requestId)).await().iterator().next()
        .getLong(0) == 1);
    return gw.pool().preparedQuery("SELECT * FROM usage WHERE request_id = $1").execute(Tuple.of(requestId))
        .await().iterator().next();
  }

  private record Answer(int status, String requestId, String body) {}

  private Answer send(JsonObject body) {
    // The body is asked for in the response's own callback: an answer that comes in one piece is not missed.
    return raw.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
            .setPort(gw.port()).setURI("/v1/chat/completions").putHeader("authorization", "Bearer " + key)
            .putHeader("content-type", "application/json"))
        .compose(req -> req.send(body.toBuffer()))
        .compose(resp -> resp.body().map(all -> new Answer(resp.statusCode(), resp.getHeader("x-request-id"),
            all.toString())))
        .timeout(30, TimeUnit.SECONDS).await();
  }

  private static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "gpt-fast").put("stream", stream).put("max_tokens", 20)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Overflow")));
  }

  private static String lastEvent(String sse) {
    String[] events = sse.strip().split("\n\n");
    return events[events.length - 1];
  }
}
