package ai.gpt.api.metrics;

import ai.gpt.api.routing.Backend;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every metric the gateway exports, in one place so names and tags stay consistent. Meters are cached by
 * their tag values so the hot path does a map lookup, not a registry lookup.
 */
public final class GatewayMetrics {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Map<RequestLabels, Counter> requests = new ConcurrentHashMap<>();
  private final Map<String, Timer> overhead = new ConcurrentHashMap<>();
  private final Map<String, Timer> ttfb = new ConcurrentHashMap<>();
  private final Map<String, Counter> retries = new ConcurrentHashMap<>();
  private final Map<String, Counter> queueRejections = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> queueDepths = new ConcurrentHashMap<>();
  private final Map<Long, List<Meter>> backendMeters = new ConcurrentHashMap<>();
  private final Map<String, Counter> connectionTimeouts = new ConcurrentHashMap<>();
  private final Map<Integer, Counter> protocolErrors = new ConcurrentHashMap<>();
  private final Map<String, Counter> localFailures = new ConcurrentHashMap<>();
  private final Map<String, Counter> dnsFailures = new ConcurrentHashMap<>();
  private final Map<String, Counter> quarantines = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> dependencies = new ConcurrentHashMap<>();
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final Counter refusedConnections = Counter.builder("gptapi_http_connections_refused")
      .description("Client connections refused (503 and closed) because MAX_CONNECTIONS were open")
      .register(registry);

  public GatewayMetrics() {
    // The JVM's own health for the dashboard: heap, GC pauses, threads, CPU, uptime.
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
  }

  /** Stops listening to GC notifications (the other binders hold nothing). */
  public void close() {
    gc.close();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public String scrape() {
    return registry.scrape();
  }

  /** The tags of a request counter: a record, so looking one up builds no string (the strings' hashes are cached). */
  private record RequestLabels(String model, String endpoint, int status) {}

  public void request(String model, String endpoint, int status) {
    requests.computeIfAbsent(new RequestLabels(model, endpoint, status), k -> Counter.builder("gptapi_requests")
        .description("Requests answered, by model, endpoint and HTTP status")
        .tags("model", model, "endpoint", endpoint, "status", String.valueOf(status))
        .register(registry)).increment();
  }

  /** Time the gateway itself added: total request time minus time spent waiting on the backend. */
  public void overhead(String endpoint, long nanos) {
    overhead.computeIfAbsent(endpoint, e -> Timer.builder("gptapi_gateway_overhead")
        .description("Gateway time per request excluding upstream time")
        .tags("endpoint", e)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(10_000))
        .maximumExpectedValue(Duration.ofSeconds(1))
        .register(registry)).record(Math.max(0, nanos), TimeUnit.NANOSECONDS);
  }

  public void upstreamTimeToFirstByte(String model, long nanos) {
    ttfb.computeIfAbsent(model, m -> Timer.builder("gptapi_upstream_ttfb")
        .description("Time from sending a request to a backend until its response headers arrive")
        .tags("model", m)
        .publishPercentileHistogram()
        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  public void retry(String model) {
    retries.computeIfAbsent(model, m -> Counter.builder("gptapi_upstream_retries")
        .description("Requests retried on another backend after failing before the first byte")
        .tags("model", m).register(registry)).increment();
  }

  public void queueRejected(String model) {
    queueRejections.computeIfAbsent(model, m -> Counter.builder("gptapi_queue_rejections")
        .description("Requests answered 503 overloaded because the wait queue was full or timed out")
        .tags("model", m).register(registry)).increment();
  }

  public void queueDepth(String model, int depth) {
    queueDepths.computeIfAbsent(model, m -> {
      AtomicInteger value = new AtomicInteger();
      Gauge.builder("gptapi_queue_depth", value, AtomicInteger::get)
          .description("Requests waiting for a free backend slot").tags("model", m).register(registry);
      return value;
    }).set(depth);
  }

  /** The open client connections of the public port, read from the one counter all event loops share. */
  public void openConnections(AtomicInteger open) {
    Gauge.builder("gptapi_http_connections_open", open, AtomicInteger::get)
        .description("Client connections open on the public port").register(registry);
  }

  public void connectionRefused() {
    refusedConnections.increment();
  }

  /** A client connection closed by a deadline: kind is header, body or idle. */
  public void connectionTimeout(String kind) {
    connectionTimeouts.computeIfAbsent(kind, k -> Counter.builder("gptapi_http_timeouts")
        .description("Client connections closed by a deadline, by kind (header, body, idle)")
        .tags("kind", k).register(registry)).increment();
  }

  /** A request refused before routing because it was not acceptable HTTP/1.1 (400, 414, 431, 501). */
  public void protocolError(int status) {
    protocolErrors.computeIfAbsent(status, s -> Counter.builder("gptapi_http_protocol_errors")
        .description("Requests refused as malformed HTTP, by status")
        .tags("status", String.valueOf(s)).register(registry)).increment();
  }

  /** An upstream call failed for a reason of this process (descriptors, pool), not of the backend. */
  public void localUpstreamFailure(String model) {
    localFailures.computeIfAbsent(model, m -> Counter.builder("gptapi_upstream_local_failures")
        .description("Upstream calls failed on a local resource limit; the backend was not blamed")
        .tags("model", m).register(registry)).increment();
  }

  /** METERING, fixed at start: a dashboard shows a replica that serves without metering (0) at a glance. */
  public void meteringEnabled(boolean on) {
    Gauge.builder("gptapi_metering_enabled", () -> on ? 1 : 0)
        .description("1 when requests are metered (admitted, limited, charged, recorded); 0 under METERING=off")
        .register(registry);
  }

  /** Whether PostgreSQL and Redis answered the status monitor's last check (every STATUS_SAMPLE_MS). */
  public void dependencies(boolean postgres, boolean redis) {
    dependency("postgres").set(postgres ? 1 : 0);
    dependency("redis").set(redis ? 1 : 0);
  }

  private AtomicInteger dependency(String name) {
    return dependencies.computeIfAbsent(name, n -> {
      AtomicInteger value = new AtomicInteger(1);
      Gauge.builder("gptapi_dependency_up", value, AtomicInteger::get)
          .description("1 when the dependency answered the last check (SELECT 1, PING), else 0")
          .tags("dependency", n).register(registry);
      return value;
    });
  }

  /** A BACKEND_DNS name could not be resolved (timeout, SERVFAIL); its last known addresses stay in rotation. */
  public void dnsLookupFailed(String model) {
    dnsFailures.computeIfAbsent(model, m -> Counter.builder("gptapi_backend_dns_failures")
        .description("Failed DNS lookups of a BACKEND_DNS name (the last known addresses stay in rotation)")
        .tags("model", m).register(registry)).increment();
  }

  /** A backend went out of rotation after a failed probe or request. */
  public void quarantined(String model) {
    quarantines.computeIfAbsent(model, m -> Counter.builder("gptapi_backend_quarantines")
        .description("Times a backend was taken out of rotation after a failed probe or request")
        .tags("model", m).register(registry)).increment();
  }

  public void registerBackend(Backend backend) {
    // The URL label never carries credentials: userinfo, query and fragment are dropped (Backend#displayUrl).
    Tags tags = Tags.of("backend", String.valueOf(backend.id()), "model", backend.definition().model(),
        "url", backend.displayUrl());
    backendMeters.put(backend.id(), List.of(
        Gauge.builder("gptapi_backend_in_flight", backend, Backend::inFlightSnapshot)
            .description("Requests this gateway has in flight on the backend").tags(tags).register(registry),
        Gauge.builder("gptapi_backend_healthy", backend, b -> b.health() == Backend.Health.HEALTHY ? 1 : 0)
            .description("1 when the last health probe succeeded").tags(tags).register(registry),
        Gauge.builder("gptapi_backend_slots", backend, Backend::slots)
            .description("Parallel slots of the backend").tags(tags).register(registry)));
  }

  public void unregisterBackend(Backend backend) {
    List<Meter> meters = backendMeters.remove(backend.id());
    if (meters != null) {
      meters.forEach(registry::remove);
    }
  }
}
