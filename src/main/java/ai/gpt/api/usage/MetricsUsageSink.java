package ai.gpt.api.usage;

import ai.gpt.api.metrics.GatewayMetrics;

/** Counts tokens by model in the metrics; the metering work replaces it with the billing pipeline. */
public final class MetricsUsageSink implements UsageSink {
  private final GatewayMetrics metrics;

  public MetricsUsageSink(GatewayMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public void record(UsageEvent event) {
    metrics.tokens(event.model(), "prompt", event.promptTokens());
    metrics.tokens(event.model(), "completion", event.completionTokens());
  }
}
