package ai.gpt.api.tracing;

import ai.gpt.api.config.TracingSettings;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporterBuilder;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The process's tracer: spans are batched in memory and exported over OTLP/HTTP by the SDK's own thread, never on
 * an event loop. {@link #OFF} (no endpoint set) creates no SDK at all; instrumented code asks {@link #on()} once per
 * request and does nothing more.
 */
public final class Tracing {
  public static final Tracing OFF = new Tracing(null);
  private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");

  private final SdkTracerProvider provider;
  private final Tracer tracer;

  private Tracing(SdkTracerProvider provider) {
    this.provider = provider;
    this.tracer = provider == null ? null : provider.get("ai.gpt.api");
  }

  public static Tracing start(TracingSettings settings) {
    if (!settings.enabled()) {
      return OFF;
    }
    OtlpHttpSpanExporterBuilder exporter = OtlpHttpSpanExporter.builder()
        .setEndpoint(settings.endpoint() + "/v1/traces")
        .setTimeout(Duration.ofSeconds(10));
    settings.headers().forEach(exporter::addHeader);
    return new Tracing(SdkTracerProvider.builder()
        .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(SERVICE_NAME, settings.serviceName()))))
        .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(settings.sampleRatio())))
        .addSpanProcessor(BatchSpanProcessor.builder(exporter.build()).build())
        .build());
  }

  public boolean on() {
    return provider != null;
  }

  Tracer tracer() {
    return tracer;
  }

  /**
   * A span of its own trace for background work (a usage batch): {@link Span#getInvalid()}, which records nothing
   * and allocates nothing, when tracing is off.
   */
  public Span backgroundSpan(String name) {
    return provider == null ? Span.getInvalid() : tracer.spanBuilder(name).setNoParent().startSpan();
  }

  /** Exports what is still buffered (up to a few seconds) and stops the exporter. Runs off the event loops. */
  public void close() {
    if (provider != null) {
      provider.shutdown().join(5, TimeUnit.SECONDS);
    }
  }
}
