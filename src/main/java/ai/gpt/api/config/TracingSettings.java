package ai.gpt.api.config;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * OpenTelemetry tracing, named as the OpenTelemetry SDKs name them. Off unless an endpoint is set.
 *
 * @param endpoint    the collector's OTLP/HTTP base URL, spans go to {@code <endpoint>/v1/traces}
 *                    (OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://otel-collector:4318); null: tracing off
 * @param headers     sent with every export, e.g. a vendor's API key (OTEL_EXPORTER_OTLP_HEADERS, {@code k=v,k=v})
 * @param serviceName the {@code service.name} resource attribute (OTEL_SERVICE_NAME, default gpt-api)
 * @param sampleRatio share of new traces recorded, 0 to 1; a request that arrives with a sampled
 *                    {@code traceparent} is always recorded (OTEL_TRACES_SAMPLER_ARG, default 1)
 */
public record TracingSettings(String endpoint, Map<String, String> headers, String serviceName, double sampleRatio) {

  public static final TracingSettings OFF = new TracingSettings(null, Map.of(), "gpt-api", 1);

  public boolean enabled() {
    return endpoint != null;
  }

  static TracingSettings from(Env env) {
    String endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT");
    if (endpoint != null && !endpoint.isBlank() && !endpoint.matches("https?://[^\\s/]+(/\\S*)?")) {
      throw new ConfigException("OTEL_EXPORTER_OTLP_ENDPOINT", "must be an http(s) URL such as "
          + "http://otel-collector:4318, got '" + endpoint + "'");
    }
    String name = env.get("OTEL_SERVICE_NAME");
    return new TracingSettings(
        endpoint == null || endpoint.isBlank() ? null : endpoint.replaceAll("/+$", ""),
        headers(env.get("OTEL_EXPORTER_OTLP_HEADERS")),
        name == null || name.isBlank() ? "gpt-api" : name.strip(),
        ratio(env.get("OTEL_TRACES_SAMPLER_ARG")));
  }

  private static Map<String, String> headers(String value) {
    Map<String, String> out = new LinkedHashMap<>();
    if (value == null || value.isBlank()) {
      return out;
    }
    for (String pair : value.split(",")) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException("OTEL_EXPORTER_OTLP_HEADERS", "entries must look like name=value");
      }
      out.put(pair.substring(0, eq).strip(), pair.substring(eq + 1).strip());
    }
    return Map.copyOf(out);
  }

  private static double ratio(String value) {
    if (value == null || value.isBlank()) {
      return 1;
    }
    try {
      double r = Double.parseDouble(value);
      if (r >= 0 && r <= 1) {
        return r;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new ConfigException("OTEL_TRACES_SAMPLER_ARG", "must be a number from 0 to 1, got '" + value + "'");
  }
}
