package ai.gpt.api.tracing;

import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An OpenTelemetry collector's OTLP/HTTP trace endpoint ({@code POST /v1/traces}, protobuf), as the OTLP
 * specification defines it: decodes each export with the protocol's own message classes and keeps the spans.
 */
final class OtlpReceiver {
  /** A received span with its resource's {@code service.name}. */
  record Received(String service, Span span) {}

  private final HttpServer server;
  private final List<Received> spans = new CopyOnWriteArrayList<>();

  private OtlpReceiver(HttpServer server) {
    this.server = server;
  }

  static OtlpReceiver start(Vertx vertx) {
    OtlpReceiver[] self = new OtlpReceiver[1];
    HttpServer server = vertx.createHttpServer().requestHandler(req -> {
      if (!req.path().equals("/v1/traces") || !"application/x-protobuf".equals(req.getHeader("content-type"))) {
        req.response().setStatusCode(404).end();
        return;
      }
      req.body().onSuccess(body -> {
        try {
          self[0].accept(ExportTraceServiceRequest.parseFrom(body.getBytes()));
          req.response().putHeader("content-type", "application/x-protobuf")
              .end(Buffer.buffer(ExportTraceServiceResponse.getDefaultInstance().toByteArray()));
        } catch (Exception e) {
          req.response().setStatusCode(400).end(String.valueOf(e));
        }
      });
    }).listen(0, "127.0.0.1").await();
    self[0] = new OtlpReceiver(server);
    return self[0];
  }

  private void accept(ExportTraceServiceRequest request) {
    for (ResourceSpans resource : request.getResourceSpansList()) {
      String service = resource.getResource().getAttributesList().stream()
          .filter(a -> a.getKey().equals("service.name")).map(a -> a.getValue().getStringValue())
          .findFirst().orElse(null);
      for (ScopeSpans scope : resource.getScopeSpansList()) {
        scope.getSpansList().forEach(span -> spans.add(new Received(service, span)));
      }
    }
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.actualPort();
  }

  List<Received> spans() {
    return List.copyOf(spans);
  }

  Future<Void> close() {
    return server.close();
  }
}
