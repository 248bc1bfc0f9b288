package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.UsageDebits;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A request's ends race: the client leaving as the backend finishes, the backend dying after part of a stream (with
 * the client leaving at the same instant), an idle timeout. Whichever end wins, the request is settled exactly once:
 * one usage row per request id (guarded by usage_requests), its cost in its day's debit once, and every hold
 * released once (the holds-outstanding gauge, admitted minus settled on this replica, is back at 0; a second
 * settlement would take it below).
 */
@ExtendWith(VertxExtension.class)
class SettleOnceTest {
  private GatewayHarness gw;
  private final List<FakeLlamaServer> fakes = new ArrayList<>();
  private HttpClient client;

  @AfterEach
  void tearDown() {
    if (client != null) {
      client.close().await();
    }
    if (gw != null) {
      gw.close();
    }
    fakes.forEach(f -> f.close().await());
  }

  @Test
  @DisplayName("client disconnects racing the stream's end, a backend dying mid-stream, an idle timeout: each "
      + "request settled exactly once")
  void settledOnceWhateverEndsFirst(Vertx vertx) {
    gw = GatewayHarness.start(vertx, Map.of("UPSTREAM_IDLE_TIMEOUT_MS", "3000"));
    client = vertx.createHttpClient(new PoolOptions().setHttp1MaxSize(64));
    long org = gw.createOrg("races");
    String key = gw.createKey(org, null);
    List<String> ids = new ArrayList<>();
    Map<String, Integer> expectedStatus = new HashMap<>();

    // 1. The client resets at a random moment around the stream's natural end (5 tokens, 20 ms apart).
    FakeLlamaServer quick = fake(vertx, 20);
    long quickId = gw.addBackend("gpt-fast", quick);
    List<Future<Stream>> racing = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      racing.add(open(vertx, key, 5, ThreadLocalRandom.current().nextLong(60, 160)));
    }
    Future.join(racing).await();
    racing.forEach(f -> ids.add(f.result().requestId));
    gw.setBackendState(quickId, "draining");

    // 2. The backend dies after part of each stream; for half of them the client leaves at the same instant.
    FakeLlamaServer dying = fake(vertx, 50);
    long dyingId = gw.addBackend("gpt-fast", dying);
    List<Stream> cut = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      cut.add(open(vertx, key, 200, -1).await());
    }
    GatewayHarness.awaitTrue("every stream relayed a few tokens", () -> cut.stream().allMatch(s -> s.chunks.get() >= 3));
    for (int i = 0; i < cut.size(); i += 2) {
      cut.get(i).reset = true;
      cut.get(i).request.reset();
    }
    dying.close().await();
    for (Stream s : cut) {
      String body = s.done.future().await();
      if (!s.reset) {
        assertTrue(body.contains("\"upstream_error\""), "the stream ends with an SSE error event: " + body);
      }
      ids.add(s.requestId);
    }
    gw.setBackendState(dyingId, "draining");

    // 3. The backend stalls mid-stream past the upstream idle timeout.
    FakeLlamaServer stalling = fake(vertx, 20);
    gw.addBackend("gpt-fast", stalling);
    List<Stream> stalled = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      stalled.add(open(vertx, key, 100, -1).await());
    }
    GatewayHarness.awaitTrue("tokens flowing", () -> stalled.stream().allMatch(s -> s.chunks.get() >= 2));
    stalling.setTokenDelayMs(60_000);
    for (Stream s : stalled) {
      String body = s.done.future().await();
      assertTrue(body.contains("\"upstream_error\""), "the idle timeout ends the stream with an error: " + body);
      ids.add(s.requestId);
      expectedStatus.put(s.requestId, 200);
    }

    int total = ids.size();
    GatewayHarness.awaitTrue("a usage row per request", 30_000, () -> gw.usageRows(org) >= total);
    Map<String, Long> rows = new HashMap<>();
    gw.pool().preparedQuery("SELECT request_id, count(*) AS n FROM usage WHERE org_id = $1 GROUP BY request_id")
        .execute(Tuple.of(org)).await().forEach(r -> rows.put(r.getString("request_id"), r.getLong("n")));
    assertEquals(total, rows.size(), "no row for anything else");
    expectedStatus.forEach((id, status) -> assertEquals(status, gw.pool().preparedQuery(
        "SELECT status FROM usage WHERE request_id = $1").execute(Tuple.of(id)).await().iterator().next()
        .getInteger(0), "a stream cut by the idle timeout is billed for what was relayed"));
    GatewayHarness.awaitTrue("every hold released exactly once",
        () -> gw.metrics().contains("gptapi_holds_outstanding 0.0"));
  }

  private List<String> texts(String sql) {
    List<String> out = new ArrayList<>();
    gw.pool().query(sql).execute().await().forEach(r -> out.add(r.getString(0)));
    return out;
  }

  private FakeLlamaServer fake(Vertx vertx, long tokenDelayMs) {
    FakeLlamaServer fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(64)
        .tokenDelayMs(tokenDelayMs)).await();
    fakes.add(fake);
    return fake;
  }

  private static final class Stream {
    HttpClientRequest request;
    String requestId;
    final AtomicInteger chunks = new AtomicInteger();
    final Promise<String> done = Promise.promise();
    volatile boolean reset;
  }

  /** Opens a stream; with {@code resetAfterMs} >= 0 the client resets it that long after its headers. */
  private Future<Stream> open(Vertx vertx, String key, int tokens, long resetAfterMs) {
    Buffer body = new JsonObject().put("model", "gpt-fast").put("stream", true).put("max_tokens", tokens)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Race"))).toBuffer();
    Stream s = new Stream();
    Promise<Stream> opened = Promise.promise();
    StringBuilder text = new StringBuilder();
    client.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(gw.port())
            .setURI("/v1/chat/completions").putHeader("authorization", "Bearer " + key)
            .putHeader("content-type", "application/json"))
        .compose(req -> {
          s.request = req;
          return req.send(body);
        })
        .onFailure(opened::fail)
        .onSuccess(resp -> {
          s.requestId = resp.getHeader("x-request-id");
          if (resp.statusCode() != 200 || s.requestId == null) {
            opened.fail(new AssertionError("stream refused: " + resp.statusCode() + " " + s.requestId));
            s.done.tryFail("refused");
            return;
          }
          resp.handler(chunk -> {
            text.append(chunk.toString());
            s.chunks.incrementAndGet();
          });
          resp.endHandler(v -> s.done.tryComplete(text.toString()));
          resp.exceptionHandler(e -> s.done.tryComplete(text.toString()));
          if (resetAfterMs >= 0) {
            vertx.setTimer(resetAfterMs, id -> {
              s.reset = true;
              s.request.reset();
              s.done.tryComplete(text.toString());
            });
          }
          opened.complete(s);
        });
    return resetAfterMs >= 0 ? opened.future().compose(x -> s.done.future().map(s)) : opened.future();
  }
}
