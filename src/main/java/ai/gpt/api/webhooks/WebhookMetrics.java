package ai.gpt.api.webhooks;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;

/** This replica's webhook delivery attempts by result, read from its worker when scraped. */
public final class WebhookMetrics {
  private WebhookMetrics() {}

  public static void register(MeterRegistry registry, DeliveryWorker worker) {
    FunctionCounter.builder("gptapi_webhook_attempts", worker, DeliveryWorker::delivered).tag("result", "delivered")
        .description("Webhook delivery attempts by result (failed ones are retried until they give up)")
        .register(registry);
    FunctionCounter.builder("gptapi_webhook_attempts", worker, DeliveryWorker::failedAttempts).tag("result", "failed")
        .description("Webhook delivery attempts by result (failed ones are retried until they give up)")
        .register(registry);
  }
}
