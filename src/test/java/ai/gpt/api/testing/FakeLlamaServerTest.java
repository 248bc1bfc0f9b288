package ai.gpt.api.testing;

import ai.gpt.api.testing.FakeLlamaServer.Health;
import ai.gpt.api.testing.FakeLlamaServer.Options;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(VertxExtension.class)
@Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
class FakeLlamaServerTest {

  private static final String CHAT = "/v1/chat/completions";
  private static final String HI = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
  private static final String CHUNK_TAIL =
      ",\"created\":\\d+,\"id\":\"chatcmpl-[A-Za-z0-9]{32}\",\"model\":\"tiny-llama.gguf\","
          + "\"system_fingerprint\":\"b1-de3ff81\",\"object\":\"chat.completion.chunk\"";
  private static final String TIMINGS = "\"timings\":\\{\"cache_n\":0,\"prompt_n\":10,\"prompt_ms\":[0-9.]+,"
      + "\"prompt_per_token_ms\":[0-9.]+,\"prompt_per_second\":[0-9.]+,\"predicted_n\":3,\"predicted_ms\":[0-9.]+,"
      + "\"predicted_per_token_ms\":[0-9.]+,\"predicted_per_second\":[0-9.]+\\}";

  private FakeLlamaServer fake;
  private HttpClientAgent client;

  @AfterEach
  void tearDown(VertxTestContext ctx) {
    Future<Void> clientClosed = client == null ? Future.succeededFuture() : client.close();
    Future<Void> fakeClosed = fake == null ? Future.succeededFuture() : fake.close();
    Future.join(clientClosed, fakeClosed).onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("stream without include_usage: exact SSE bytes, one HTTP chunk per event, timings on the finish "
      + "chunk, then the socket is closed although keep-alive was advertised")
  void streamWithoutUsage(Vertx vertx, VertxTestContext ctx) {
    long started = System.nanoTime();
    start(vertx, new Options())
        .compose(s -> rawExchange(vertx, post(CHAT, HI + ",\"stream\":true,\"max_tokens\":3}")))
        .map(raw -> {
          assertTrue(System.nanoTime() - started < 2_000_000_000L, "closed right after the stream, not by idle timeout");
          String head = raw.substring(0, raw.indexOf("\r\n\r\n"));
          assertTrue(head.startsWith("HTTP/1.1 200 OK\r\n"), head);
          String h = head.toLowerCase();
          assertTrue(h.contains("\r\nserver: llama.cpp"), head);
          assertTrue(h.contains("\r\ncontent-type: text/event-stream"), head);
          assertTrue(h.contains("\r\nx-accel-buffering: no"), head);
          assertTrue(h.contains("\r\nkeep-alive: timeout=5, max=100"), head);
          assertTrue(h.contains("\r\ntransfer-encoding: chunked"), head);
          assertFalse(h.contains("connection: close"), head);

          List<String> chunks = dechunk(raw.substring(raw.indexOf("\r\n\r\n") + 4));
          assertEquals(6, chunks.size(), "role, 3 tokens, finish, [DONE] as separate writes: " + chunks);
          String sse = String.join("", chunks);
          List<String> events = events(sse);
          assertEquals(6, events.size(), sse);
          assertMatches("\\{\"choices\":\\[\\{\"finish_reason\":null,\"index\":0,\"delta\":\\{\"role\":\"assistant\","
              + "\"content\":null\\}\\}\\]" + CHUNK_TAIL + "\\}", events.get(0));
          assertMatches("\\{\"choices\":\\[\\{\"finish_reason\":null,\"index\":0,\"delta\":\\{\"content\":\" the\"\\}\\}\\]"
              + CHUNK_TAIL + "\\}", events.get(1));
          assertMatches("\\{\"choices\":\\[\\{\"finish_reason\":\"length\",\"index\":0,\"delta\":\\{\\}\\}\\]"
              + CHUNK_TAIL + "," + TIMINGS + "\\}", events.get(4));
          assertEquals("[DONE]", events.get(5));
          assertTrue(sse.endsWith("data: [DONE]\n\n"));
          assertEquals(FakeLlamaServer.expectedContent(3), contentOf(events));
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("stream with include_usage: finish chunk without timings, then choices:[] with usage and timings")
  void streamWithUsage(Vertx vertx, VertxTestContext ctx) {
    start(vertx, new Options())
        .compose(s -> call(HttpMethod.POST, CHAT,
            HI + ",\"stream\":true,\"max_tokens\":3,\"stream_options\":{\"include_usage\":true}}"))
        .map(r -> {
          assertEquals(200, r.status);
          assertEquals("text/event-stream", r.headers.get("Content-Type"));
          List<String> events = events(r.body);
          assertEquals(7, events.size(), r.body);
          assertMatches("\\{\"choices\":\\[\\{\"finish_reason\":\"length\",\"index\":0,\"delta\":\\{\\}\\}\\]"
              + CHUNK_TAIL + "\\}", events.get(4));
          assertMatches("\\{\"choices\":\\[\\]" + CHUNK_TAIL + ",\"usage\":\\{\"completion_tokens\":3,\"prompt_tokens\":10,"
              + "\"total_tokens\":13,\"prompt_tokens_details\":\\{\"cached_tokens\":0\\}\\}," + TIMINGS + "\\}",
              events.get(5));
          assertEquals("[DONE]", events.get(6));
          assertEquals(Boolean.TRUE,
              fake.lastRequestBody().getJsonObject("stream_options").getBoolean("include_usage"));
          assertEquals(1, fake.requestCount());
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("non-stream chat: field order, usage and timings like chat_nonstream.json; finish_reason stop "
      + "without max_tokens")
  void nonStreamChat(Vertx vertx, VertxTestContext ctx) {
    start(vertx, new Options().defaultTokens(4))
        .compose(s -> call(HttpMethod.POST, CHAT, HI + "}"))
        .map(r -> {
          assertEquals(200, r.status);
          assertEquals("application/json; charset=utf-8", r.headers.get("Content-Type"));
          assertEquals("timeout=5, max=100", r.headers.get("Keep-Alive"));
          assertEquals("llama.cpp", r.headers.get("Server"));
          assertMatches("\\{\"choices\":\\[\\{\"finish_reason\":\"stop\",\"index\":0,\"message\":\\{\"role\":\"assistant\","
              + "\"content\":\" the quick brown fox\"\\}\\}\\],\"created\":\\d+,\"model\":\"tiny-llama.gguf\","
              + "\"system_fingerprint\":\"b1-de3ff81\",\"object\":\"chat.completion\",\"usage\":\\{\"completion_tokens\":4,"
              + "\"prompt_tokens\":10,\"total_tokens\":14,\"prompt_tokens_details\":\\{\"cached_tokens\":0\\}\\},"
              + "\"id\":\"chatcmpl-[A-Za-z0-9]{32}\",\"timings\":\\{.*\"predicted_n\":4,.*\\}\\}", r.body);
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("token limit and completions follow llama-server: n_predict, then max_completion_tokens, then "
      + "max_tokens; n_cmpl, then n; one task per prompt of a prompt array; usage sums every completion")
  void generationParamsPrecedence(Vertx vertx, VertxTestContext ctx) {
    start(vertx, new Options().slots(4))
        .compose(s -> call(HttpMethod.POST, CHAT, HI + ",\"max_tokens\":1,\"n_predict\":7}"))
        .compose(r -> {
          assertEquals(7, usage(r).getInteger("completion_tokens"), "n_predict wins over max_tokens");
          return call(HttpMethod.POST, CHAT, HI + ",\"max_tokens\":1,\"max_completion_tokens\":5}");
        })
        .compose(r -> {
          assertEquals(5, usage(r).getInteger("completion_tokens"), "max_completion_tokens wins over max_tokens");
          return call(HttpMethod.POST, CHAT, HI + ",\"max_tokens\":2,\"n\":3}");
        })
        .compose(r -> {
          assertEquals(3, r.json().getJsonArray("choices").size());
          assertEquals(2, r.json().getJsonArray("choices").getJsonObject(2).getInteger("index"));
          assertEquals(6, usage(r).getInteger("completion_tokens"), "every choice is generated and counted");
          return call(HttpMethod.POST, CHAT, HI + ",\"max_tokens\":2,\"n\":1,\"n_cmpl\":2}");
        })
        .compose(r -> {
          assertEquals(4, usage(r).getInteger("completion_tokens"), "n_cmpl wins over n");
          return call(HttpMethod.POST, "/v1/completions", "{\"prompt\":[\"a\",\"b\",\"c\"],\"max_tokens\":2}");
        })
        .compose(r -> {
          assertEquals(3, r.json().getJsonArray("choices").size(), "one task per prompt");
          assertEquals(6, usage(r).getInteger("completion_tokens"));
          return call(HttpMethod.POST, "/v1/completions", "{\"prompt\":[1,2,3],\"max_tokens\":2}");
        })
        .compose(r -> {
          assertEquals(2, usage(r).getInteger("completion_tokens"), "an array of token ids is one prompt");
          return call(HttpMethod.POST, CHAT, HI + ",\"n\":5}");
        })
        .map(r -> {
          assertEquals(400, r.status, "more completions than slots is refused, as by llama-server");
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("a streamed request for two completions sends every token for each choice index")
  void streamSeveralChoices(Vertx vertx, VertxTestContext ctx) {
    start(vertx, new Options())
        .compose(s -> call(HttpMethod.POST, CHAT, HI + ",\"stream\":true,\"n\":2,\"max_tokens\":3,"
            + "\"stream_options\":{\"include_usage\":true}}"))
        .map(r -> {
          List<String> events = events(r.body);
          long second = events.stream().filter(e -> e.contains("\"index\":1,\"delta\":{\"content\"")).count();
          assertEquals(3, second, r.body);
          assertTrue(r.body.contains("\"completion_tokens\":6"), r.body);
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  private static JsonObject usage(Resp r) {
    assertEquals(200, r.status, r.body);
    return r.json().getJsonObject("usage");
  }

  @Test
  @DisplayName("LOADING: /health and completions answer 503 Loading model, /v1/models still works; OK again after")
  void healthLoading(Vertx vertx, VertxTestContext ctx) {
    String loading = "{\"error\":{\"code\":503,\"message\":\"Loading model\",\"type\":\"unavailable_error\"}}";
    start(vertx, new Options())
        .compose(s -> {
          fake.setHealth(Health.LOADING);
          return call(HttpMethod.GET, "/health", null);
        })
        .compose(r -> {
          assertEquals(503, r.status);
          assertEquals(loading, r.body);
          return call(HttpMethod.POST, CHAT, HI + "}");
        })
        .compose(r -> {
          assertEquals(503, r.status);
          assertEquals(loading, r.body);
          return call(HttpMethod.GET, "/v1/models", null);
        })
        .compose(r -> {
          assertEquals(200, r.status);
          assertEquals("tiny-llama.gguf", r.json().getJsonArray("data").getJsonObject(0).getString("id"));
          fake.setHealth(Health.OK);
          return call(HttpMethod.GET, "/health", null);
        })
        .map(r -> {
          assertEquals(200, r.status);
          assertEquals("{\"status\":\"ok\"}", r.body);
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("/slots shows an in-flight stream as is_processing; a client disconnect cancels it and frees the slot")
  void slotsAndCancel(Vertx vertx, VertxTestContext ctx) {
    Promise<NetSocket> firstBytes = Promise.promise();
    start(vertx, new Options().slots(2).tokenDelayMs(50))
        .compose(s -> vertx.createNetClient().connect(fake.port(), "127.0.0.1"))
        .compose(socket -> {
          socket.handler(b -> firstBytes.tryComplete(socket));
          return socket.write(post(CHAT, HI + ",\"stream\":true,\"max_tokens\":200}"));
        })
        .compose(v -> firstBytes.future())
        .compose(socket -> call(HttpMethod.GET, "/slots", null).map(r -> {
          JsonArray slots = new JsonArray(r.body);
          assertEquals(2, slots.size());
          assertEquals(1, processingSlots(slots));
          assertEquals(1, fake.inFlight());
          fake.setBusySlots(1);
          return socket;
        }))
        .compose(socket -> call(HttpMethod.GET, "/slots", null).map(r -> {
          assertEquals(2, processingSlots(new JsonArray(r.body)), "busy slots add to real ones");
          fake.setBusySlots(0);
          return socket;
        }))
        .compose(NetSocket::close)
        .compose(v -> eventually(vertx, () -> fake.cancelledCount() == 1 && fake.inFlight() == 0))
        .compose(v -> call(HttpMethod.GET, "/slots", null))
        .map(r -> {
          JsonArray slots = new JsonArray(r.body);
          assertEquals(0, processingSlots(slots));
          JsonObject used = slots.getJsonObject(0);
          assertEquals(200, used.getJsonObject("params").getInteger("max_tokens"), "idle slot keeps its last task");
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("with every slot busy a request is deferred (requests_deferred in /metrics), then served")
  void deferredWhenSlotsBusy(Vertx vertx, VertxTestContext ctx) {
    start(vertx, new Options().slots(1).tokenDelayMs(30))
        .compose(s -> {
          Future<Resp> a = call(HttpMethod.POST, CHAT, HI + ",\"max_tokens\":10}");
          Future<Resp> b = call(HttpMethod.POST, CHAT, HI + ",\"max_tokens\":10}");
          Future<Void> metrics = eventually(vertx, () -> fake.deferredCount() == 1)
              .compose(v -> call(HttpMethod.GET, "/metrics", null))
              .map(r -> {
                assertEquals("text/plain; version=0.0.4", r.headers.get("Content-Type"));
                assertTrue(r.body.contains("\nllamacpp:requests_processing 1\n"), r.body);
                assertTrue(r.body.contains("\nllamacpp:requests_deferred 1\n"), r.body);
                return null;
              });
          return Future.all(a, b, metrics).map(all -> {
            assertEquals(200, a.result().status);
            assertEquals(200, b.result().status);
            assertEquals(0, fake.deferredCount());
            return null;
          });
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("a deferred request whose client leaves is dropped from the queue and never runs")
  void deferredCancelled(Vertx vertx, VertxTestContext ctx) {
    start(vertx, new Options().slots(1).tokenDelayMs(20))
        .compose(s -> {
          Future<Resp> running = call(HttpMethod.POST, CHAT, HI + ",\"max_tokens\":25}");
          Future<Void> queuedAndGone = eventually(vertx, () -> fake.inFlight() == 1)
              .compose(v -> vertx.createNetClient().connect(fake.port(), "127.0.0.1"))
              .compose(socket -> socket.write(post(CHAT, HI + ",\"max_tokens\":5}"))
                  .compose(v -> eventually(vertx, () -> fake.deferredCount() == 1))
                  .compose(v -> socket.close()))
              .compose(v -> eventually(vertx, () -> fake.cancelledCount() == 1 && fake.deferredCount() == 0));
          return Future.all(running, queuedAndGone).map(v -> running.result());
        })
        .compose(r -> {
          assertEquals(200, r.status);
          assertEquals(2, fake.requestCount());
          assertEquals(0, fake.inFlight());
          return call(HttpMethod.GET, "/slots", null);
        })
        .map(r -> {
          JsonObject slot = new JsonArray(r.body).getJsonObject(0);
          assertEquals(25, slot.getJsonObject("params").getInteger("max_tokens"), "the cancelled request never ran");
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("FAIL closes the connection before any byte; ERROR_500 fails completions but keeps /health up")
  void failAndError500(Vertx vertx, VertxTestContext ctx) {
    start(vertx, new Options())
        .compose(s -> {
          fake.setHealth(Health.FAIL);
          return call(HttpMethod.POST, CHAT, HI + "}").transform(ar -> {
            assertTrue(ar.failed(), "expected a closed connection, got a response");
            return Future.succeededFuture();
          });
        })
        .compose(v -> {
          assertEquals(1, fake.requestCount());
          fake.setHealth(Health.ERROR_500);
          return call(HttpMethod.POST, CHAT, HI + "}");
        })
        .compose(r -> {
          assertEquals(500, r.status);
          assertEquals("server_error", r.json().getJsonObject("error").getString("type"));
          return call(HttpMethod.GET, "/health", null);
        })
        .map(r -> {
          assertEquals(200, r.status);
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("errors have llama-server's shapes: 404, 501 embeddings on a chat server, bad JSON, bad messages, "
      + "API key")
  void errors(Vertx vertx, VertxTestContext ctx) {
    start(vertx, new Options().apiKey("sk-test"))
        .compose(s -> call(HttpMethod.POST, CHAT, HI + "}"))
        .compose(r -> {
          assertEquals(401, r.status);
          assertEquals("{\"error\":{\"code\":401,\"message\":\"Invalid API Key\",\"type\":\"authentication_error\"}}",
              r.body);
          return call(HttpMethod.GET, "/nope", null, "sk-test");
        })
        .compose(r -> {
          assertEquals(404, r.status);
          assertEquals("close", r.headers.get("Connection"));
          assertEquals("{\"error\":{\"message\":\"File Not Found\",\"type\":\"not_found_error\",\"code\":404}}", r.body);
          return call(HttpMethod.POST, "/v1/embeddings", "{\"input\":\"hi\"}", "sk-test");
        })
        .compose(r -> {
          assertEquals(501, r.status);
          assertEquals("close", r.headers.get("Connection"));
          assertEquals("{\"error\":{\"code\":501,\"message\":\"This server does not support embeddings. Start it with "
              + "`--embeddings`\",\"type\":\"not_supported_error\"}}", r.body);
          return call(HttpMethod.POST, CHAT, "{no", "sk-test");
        })
        .compose(r -> {
          assertEquals(500, r.status);
          assertEquals("server_error", r.json().getJsonObject("error").getString("type"));
          return call(HttpMethod.POST, CHAT, "{\"messages\":\"hi\"}", "sk-test");
        })
        .map(r -> {
          assertEquals(400, r.status);
          assertEquals("{\"error\":{\"code\":400,\"message\":\"Expected 'messages' to be an array\","
              + "\"type\":\"invalid_request_error\"}}", r.body);
          return null;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @DisplayName("embeddings server: 64 deterministic floats per input, base64 is the same vector as little-endian "
      + "float32")
  void embeddings(Vertx vertx, VertxTestContext ctx) {
    start(vertx, new Options().embeddings(true))
        .compose(s -> call(HttpMethod.POST, "/v1/embeddings", "{\"input\":[\"hello world\",\"bye\"]}"))
        .compose(floats -> call(HttpMethod.POST, "/v1/embeddings",
            "{\"input\":\"hello world\",\"encoding_format\":\"base64\"}").map(b64 -> {
              JsonObject f = floats.json();
              assertTrue(floats.body.startsWith("{\"model\":\"tiny-llama.gguf\",\"object\":\"list\",\"usage\":"
                  + "{\"prompt_tokens\":4,\"total_tokens\":4},\"data\":[{\"embedding\":["), floats.body);
              JsonArray vector = f.getJsonArray("data").getJsonObject(0).getJsonArray("embedding");
              assertEquals(64, vector.size());
              assertEquals(2, f.getJsonArray("data").size());
              JsonObject item = b64.json().getJsonArray("data").getJsonObject(0);
              assertEquals("base64", item.getString("encoding_format"));
              ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(item.getString("embedding")))
                  .order(ByteOrder.LITTLE_ENDIAN);
              assertEquals(64 * 4, bytes.remaining());
              for (int i = 0; i < 64; i++) {
                assertEquals(vector.getDouble(i).floatValue(), bytes.getFloat(), 0f);
              }
              return null;
            }))
        .onComplete(ctx.succeedingThenComplete());
  }

  // ---------------------------------------------------------------- helpers

  private Future<FakeLlamaServer> start(Vertx vertx, Options options) {
    client = vertx.createHttpClient();
    return FakeLlamaServer.start(vertx, options).onSuccess(s -> fake = s);
  }

  private record Resp(int status, MultiMap headers, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }
  }

  private Future<Resp> call(HttpMethod method, String uri, String body) {
    return call(method, uri, body, null);
  }

  private Future<Resp> call(HttpMethod method, String uri, String body, String apiKey) {
    RequestOptions options = new RequestOptions().setMethod(method).setHost("127.0.0.1").setPort(fake.port())
        .setURI(uri);
    if (apiKey != null) {
      options.putHeader("Authorization", "Bearer " + apiKey);
    }
    return client.request(options)
        .compose(req -> body == null ? req.send() : req.send(body))
        .compose(resp -> resp.body().map(b -> new Resp(resp.statusCode(), resp.headers(), b.toString())));
  }

  private static String post(String uri, String json) {
    return "POST " + uri + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
        + json.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + json;
  }

  /** Sends raw bytes and returns everything received until the server closes the connection. */
  private Future<String> rawExchange(Vertx vertx, String request) {
    Promise<String> done = Promise.promise();
    Buffer received = Buffer.buffer();
    return vertx.createNetClient().connect(fake.port(), "127.0.0.1").compose(socket -> {
      socket.handler(received::appendBuffer);
      socket.closeHandler(v -> done.tryComplete(received.toString(StandardCharsets.UTF_8)));
      return socket.write(request).compose(v -> done.future());
    });
  }

  /** Decodes an HTTP/1.1 chunked body into its chunks (the terminating empty chunk excluded). */
  private static List<String> dechunk(String body) {
    List<String> chunks = new ArrayList<>();
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    int pos = 0;
    while (true) {
      int lineEnd = indexOf(bytes, pos);
      int size = Integer.parseInt(new String(bytes, pos, lineEnd - pos, StandardCharsets.US_ASCII).trim(), 16);
      pos = lineEnd + 2;
      if (size == 0) {
        return chunks;
      }
      chunks.add(new String(bytes, pos, size, StandardCharsets.UTF_8));
      pos += size + 2;
    }
  }

  private static int indexOf(byte[] bytes, int from) {
    for (int i = from; i < bytes.length - 1; i++) {
      if (bytes[i] == '\r' && bytes[i + 1] == '\n') {
        return i;
      }
    }
    throw new IllegalStateException("truncated chunked body");
  }

  /** SSE payloads; asserts the exact "data: <payload>\n\n" framing. */
  private static List<String> events(String sse) {
    List<String> out = new ArrayList<>();
    for (String event : sse.split("\n\n", -1)) {
      if (event.isEmpty()) {
        continue;
      }
      assertTrue(event.startsWith("data: "), event);
      out.add(event.substring("data: ".length()));
    }
    return out;
  }

  private static String contentOf(List<String> events) {
    StringBuilder sb = new StringBuilder();
    for (String e : events) {
      if (!e.startsWith("{")) {
        continue;
      }
      JsonArray choices = new JsonObject(e).getJsonArray("choices");
      if (!choices.isEmpty()) {
        String content = choices.getJsonObject(0).getJsonObject("delta").getString("content");
        sb.append(content == null ? "" : content);
      }
    }
    return sb.toString();
  }

  private static int processingSlots(JsonArray slots) {
    int n = 0;
    for (int i = 0; i < slots.size(); i++) {
      n += slots.getJsonObject(i).getBoolean("is_processing") ? 1 : 0;
    }
    return n;
  }

  private static void assertMatches(String regex, String actual) {
    assertTrue(Pattern.compile(regex, Pattern.DOTALL).matcher(actual).matches(),
        () -> "expected /" + regex + "/ but was: " + actual);
  }

  private static Future<Void> eventually(Vertx vertx, BooleanSupplier condition) {
    Promise<Void> promise = Promise.promise();
    long deadline = System.currentTimeMillis() + 5000;
    vertx.setPeriodic(10, id -> {
      if (condition.getAsBoolean()) {
        vertx.cancelTimer(id);
        promise.tryComplete();
      } else if (System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(id);
        promise.tryFail("condition not met within 5 s");
      }
    });
    return promise.future();
  }
}
