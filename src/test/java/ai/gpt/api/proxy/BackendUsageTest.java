package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
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
 * A backend whose {@code usage} is nonsense (strings, negative or huge counts, more completion tokens than the
 * request's budget): the request still ends, with one usage row billed within what the request could use, and its
 * hold released. Such a usage once threw in settlement: the client hung and the hold and concurrency lease leaked.
 */
@ExtendWith(VertxExtension.class)
class BackendUsageTest {
  private static final int MAX_TOKENS = 16;

  private GatewayHarness gw;
  private HttpServer backend;
  private HttpClient raw;
  private String key;
  private volatile String usage;

  @BeforeEach
  void setUp(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    backend = vertx.createHttpServer().requestHandler(req -> {
      switch (req.path()) {
        case "/health" -> req.response().end("{\"status\":\"ok\"}");
        case "/slots" -> req.response().end("[{\"id\":0,\"is_processing\":false}]");
        default -> req.body().onSuccess(body -> {
          String tail = "\"object\":\"chat.completion.chunk\",\"model\":\"gpt-fast\",\"id\":\"x\",\"created\":1";
          if (body.toJsonObject().getBoolean("stream", false)) {
            req.response().setChunked(true).putHeader("content-type", "text/event-stream");
            req.response().write("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]," + tail + "}\n\n");
            req.response().write("data: {\"choices\":[]," + tail + ",\"usage\":" + usage + "}\n\n");
            req.response().end("data: [DONE]\n\n");
          } else {
            req.response().putHeader("content-type", "application/json").end("{\"choices\":[{\"index\":0,"
                + "\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\",\"content\":\"a\"}}],"
                + "\"object\":\"chat.completion\",\"model\":\"gpt-fast\",\"id\":\"x\",\"created\":1,\"usage\":"
                + usage + "}");
          }
        });
      }
    }).listen(0, "127.0.0.1").await();
    gw.addBackend("gpt-fast", "http://127.0.0.1:" + backend.actualPort(), 1, null);
    key = gw.createKey(gw.createOrg("usage"), null);
    raw = vertx.createHttpClient();
  }

  @AfterEach
  void tearDown() {
    raw.close().await();
    gw.close();
    backend.close().await();
  }

  @Test
  @DisplayName("unusable usage (string, fraction, negative, huge, negative cached): billed as estimated, settled")
  void unusableUsageIsEstimated() {
    String[] usages = {
        "{\"prompt_tokens\":\"12\",\"completion_tokens\":5}",
        "{\"prompt_tokens\":null,\"completion_tokens\":null}",
        "{\"prompt_tokens\":3.5,\"completion_tokens\":1e3}",
        "{\"prompt_tokens\":-5,\"completion_tokens\":-3}",
        "{\"prompt_tokens\":99999999999999999999,\"completion_tokens\":9223372036854775807}",
        "{}"};
    for (String u : usages) {
      for (boolean stream : new boolean[] {false, true}) {
        usage = u;
        Row row = settledRow(stream);
        assertTrue(row.getBoolean("estimated"), u);
        assertTrue(row.getInteger("prompt_tokens") > 0, u + ": the prompt estimate is billed");
        assertTrue(row.getInteger("completion_tokens") <= MAX_TOKENS, u);
      }
    }
  }

  @Test
  @DisplayName("a backend reporting more than the request could use: billed at most its prompt bound and budget")
  void excessiveUsageIsCapped() {
    for (boolean stream : new boolean[] {false, true}) {
      usage = "{\"prompt_tokens\":2000000000,\"completion_tokens\":2000000000,\"total_tokens\":4000000000}";
      Row row = settledRow(stream);
      assertEquals(MAX_TOKENS, row.getInteger("completion_tokens"));
      assertTrue(row.getInteger("prompt_tokens") < 1_000, "at most the prompt bound: " + row.getInteger("prompt_tokens"));
      assertTrue(row.getBoolean("estimated"));
      assertTrue(row.getLong("cost_micros") < 1_000, "not $1,500: " + row.getLong("cost_micros"));

      usage = "{\"prompt_tokens\":10,\"completion_tokens\":3,\"prompt_tokens_details\":{\"cached_tokens\":-7}}";
      row = settledRow(stream);
      assertEquals(10, row.getInteger("prompt_tokens"));
      assertEquals(3, row.getInteger("completion_tokens"));
      assertEquals(0, row.getInteger("cached_tokens"));
      assertFalse(row.getBoolean("estimated"));
    }
  }

  @Test
  @DisplayName("a 200 answer that is not JSON: 502 upstream_error in OpenAI's shape, not relayed as a success")
  void brokenAnswerIsAnError() {
    usage = "[}"; // the whole answer becomes invalid JSON
    JsonObject body = new JsonObject().put("model", "gpt-fast").put("max_tokens", MAX_TOKENS)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hello there")));
    String[] answer = raw.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
            .setPort(gw.port()).setURI("/v1/chat/completions").putHeader("authorization", "Bearer " + key)
            .putHeader("content-type", "application/json"))
        .compose(req -> req.send(body.toBuffer()))
        .compose(resp -> resp.body().map(all -> new String[] {String.valueOf(resp.statusCode()),
            resp.getHeader("x-request-id"), all.toString()}))
        .timeout(10, TimeUnit.SECONDS).await();
    assertEquals("502", answer[0], answer[2]);
    JsonObject error = new JsonObject(answer[2]).getJsonObject("error");
    assertEquals("upstream_error", error.getString("code"));
    assertTrue(error.containsKey("param") && error.containsKey("type"), answer[2]);
    GatewayHarness.awaitTrue("one usage row", () -> gw.pool().preparedQuery(
        "SELECT count(*) FROM usage WHERE request_id = $1 AND estimated AND completion_tokens = 0")
        .execute(Tuple.of(answer[1])).await().iterator().next().getLong(0) == 1);
  }

  /** Sends one chat request: it ends with 200, has exactly one usage row, and no hold is left outstanding. */
  private Row settledRow(boolean stream) {
    JsonObject body = new JsonObject().put("model", "gpt-fast").put("stream", stream).put("max_tokens", MAX_TOKENS)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hello there")));
    String[] answer = raw.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
            .setPort(gw.port()).setURI("/v1/chat/completions").putHeader("authorization", "Bearer " + key)
            .putHeader("content-type", "application/json"))
        .compose(req -> req.send(body.toBuffer()))
        .compose(resp -> resp.body().map(all -> new String[] {String.valueOf(resp.statusCode()),
            resp.getHeader("x-request-id"), all.toString()}))
        .timeout(10, TimeUnit.SECONDS).await();
    assertEquals("200", answer[0], usage + ": " + answer[2]);
    if (stream) {
      assertTrue(answer[2].endsWith("data: [DONE]\n\n"), answer[2]);
    } else {
      new JsonObject(answer[2]);
    }
    GatewayHarness.awaitTrue("one usage row", () -> gw.pool().preparedQuery(
        "SELECT count(*) FROM usage WHERE request_id = $1").execute(Tuple.of(answer[1])).await().iterator().next()
        .getLong(0) == 1);
    GatewayHarness.awaitTrue("no hold outstanding", () -> gw.metrics().lines()
        .anyMatch(l -> l.equals("gptapi_holds_outstanding 0.0")));
    return gw.pool().preparedQuery("SELECT * FROM usage WHERE request_id = $1").execute(Tuple.of(answer[1]))
        .await().iterator().next();
  }
}
