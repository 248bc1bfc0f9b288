package ai.gpt.api.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Spans exported over OTLP/HTTP to a receiver that decodes them with the protocol's own classes: one trace per
 * request continuing the caller's {@code traceparent}, a span per stage, the backend call's context sent to
 * llama.cpp, the usage write, attributes that carry no key or prompt; and nothing at all with tracing off.
 */
@ExtendWith(VertxExtension.class)
class TracingTest {
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String CALLER_SPAN = "00f067aa0ba902b7";
  private static final String PROMPT = "a secret question about tracing";

  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private OtlpReceiver receiver;

  @AfterEach
  void tearDown() {
    if (gw != null) {
      gw.close();
    }
    if (fake != null) {
      fake.close().await();
    }
    if (receiver != null) {
      receiver.close().await();
    }
  }

  @Test
  @DisplayName("a traced request: server span under the caller's traceparent, auth/admission/backend/settlement"
      + " children, traceparent sent to llama.cpp, token and model attributes, no key or prompt, usage.write span")
  void tracesARequest(Vertx vertx) {
    receiver = OtlpReceiver.start(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    gw = GatewayHarness.start(vertx, Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(),
        "OTEL_SERVICE_NAME", "gpt-api-test"));
    gw.addBackend("gpt-fast", fake);
    String key = gw.createKey();
    long org = gw.orgOf(key);

    HttpResponse<Buffer> answer = gw.client().post("/v1/chat/completions").bearerTokenAuthentication(key)
        .putHeader("traceparent", "00-" + TRACE_ID + "-" + CALLER_SPAN + "-01")
        .sendJsonObject(new JsonObject().put("model", "gpt-fast").put("max_tokens", 5)
            .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", PROMPT))))
        .await();
    assertEquals(200, answer.statusCode(), answer.bodyAsString());
    JsonObject usage = answer.bodyAsJsonObject().getJsonObject("usage");

    // The batch span processor exports every few seconds.
    GatewayHarness.awaitTrue("the request's spans and a usage.write span", () ->
        ofTrace(TRACE_ID).size() >= 5 && receiver.spans().stream().anyMatch(r -> r.span().getName().equals("usage.write")));
    List<Span> trace = ofTrace(TRACE_ID);
    assertTrue(receiver.spans().stream().allMatch(r -> r.service().equals("gpt-api-test")));

    Span server = named(trace, "POST /v1/chat/completions");
    assertEquals(Span.SpanKind.SPAN_KIND_SERVER, server.getKind());
    assertEquals(CALLER_SPAN, hex(server.getParentSpanId().toByteArray()), "continues the caller's trace");
    assertEquals(200L, attr(server, "http.response.status_code").getIntValue());
    assertEquals("gpt-fast", attr(server, "gen_ai.request.model").getStringValue());
    assertEquals(org, attr(server, "gptapi.org_id").getIntValue());
    assertEquals(usage.getInteger("prompt_tokens").longValue(), attr(server, "gen_ai.usage.input_tokens").getIntValue());
    assertEquals(usage.getInteger("completion_tokens").longValue(),
        attr(server, "gen_ai.usage.output_tokens").getIntValue());
    assertEquals(answer.getHeader("x-request-id"), attr(server, "gptapi.request_id").getStringValue());

    for (String stage : List.of("auth", "admission", "llama.cpp /v1/chat/completions", "settlement")) {
      Span span = named(trace, stage);
      assertEquals(server.getSpanId(), span.getParentSpanId(), stage + " is a child of the request's span");
      assertTrue(span.getStartTimeUnixNano() >= server.getStartTimeUnixNano()
          && span.getEndTimeUnixNano() <= server.getEndTimeUnixNano(), stage + " lies within the request");
    }
    Span upstream = named(trace, "llama.cpp /v1/chat/completions");
    assertEquals(Span.SpanKind.SPAN_KIND_CLIENT, upstream.getKind());
    assertEquals("admitted", attr(named(trace, "admission"), "gptapi.outcome").getStringValue());
    String sent = fake.lastRequestHeaders().get("traceparent");
    assertEquals("00-" + TRACE_ID + "-" + hex(upstream.getSpanId().toByteArray()) + "-01", sent,
        "llama.cpp gets the backend call's span as its parent");

    // Attributes never carry the key or the prompt.
    String everything = receiver.spans().stream().flatMap(r -> r.span().getAttributesList().stream())
        .map(KeyValue::toString).collect(Collectors.joining("\n"));
    assertFalse(everything.contains(key.substring(key.length() - 12)), "no API key in any span");
    assertFalse(everything.contains(PROMPT), "no prompt in any span");

    Span write = receiver.spans().stream().map(OtlpReceiver.Received::span)
        .filter(s -> s.getName().equals("usage.write")).findFirst().orElseThrow();
    assertTrue(attr(write, "gptapi.usage.events").getIntValue() >= 1);
  }

  @Test
  @DisplayName("tracing off (no endpoint): nothing is sent upstream as traceparent, the caller's header is not relayed")
  void offByDefault(Vertx vertx) {
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    gw = GatewayHarness.start(vertx);
    gw.addBackend("gpt-fast", fake);
    String key = gw.createKey();
    HttpResponse<Buffer> answer = gw.client().post("/v1/chat/completions").bearerTokenAuthentication(key)
        .putHeader("traceparent", "00-" + TRACE_ID + "-" + CALLER_SPAN + "-01")
        .sendJsonObject(new JsonObject().put("model", "gpt-fast").put("max_tokens", 2)
            .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))))
        .await();
    assertEquals(200, answer.statusCode());
    assertNotNull(fake.lastRequestHeaders());
    assertNull(fake.lastRequestHeaders().get("traceparent"));
  }

  private List<Span> ofTrace(String traceId) {
    return receiver.spans().stream().map(OtlpReceiver.Received::span)
        .filter(s -> hex(s.getTraceId().toByteArray()).equals(traceId)).toList();
  }

  private static Span named(List<Span> spans, String name) {
    Optional<Span> span = spans.stream().filter(s -> s.getName().equals(name)).findFirst();
    return span.orElseThrow(() -> new AssertionError("no span '" + name + "' in "
        + spans.stream().map(Span::getName).toList()));
  }

  private static AnyValue attr(Span span, String key) {
    return span.getAttributesList().stream().filter(a -> a.getKey().equals(key)).map(KeyValue::getValue)
        .findFirst().orElseThrow(() -> new AssertionError(span.getName() + " has no attribute " + key));
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
