package ai.gpt.api.metering;

import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.limits.SettledUsage;
import io.vertx.core.Future;
import java.util.function.BiConsumer;

/**
 * What the request path asks of metering: admit a request before it is forwarded and settle it exactly once when
 * it ends. {@link Metering} is the real one (limits, credit holds and usage in Redis); {@link Unmetered} is the
 * operator's METERING=off, chosen once at start, so the proxy never asks which one it has.
 */
public interface RequestMetering {
  /** See {@link Metering#admit}. */
  Future<AdmissionResult> admit(AdmissionRequest r, String model, String endpoint);

  /** See {@link Metering#settle}: the response ends only once this completes. It never fails. */
  Future<Void> settle(SettledUsage u, long holdMicros);

  /**
   * Whether requests are charged, so a response states its {@code cost}; without metering nothing is charged and a
   * response claims no cost.
   */
  boolean charges();

  /** Told about every request refused by a rate or concurrency limit. */
  void onLimited(BiConsumer<AdmissionRequest, AdmissionResult> listener);

  /** Told the organization's hot balance after every settlement. */
  void watchBalances(BalanceWatch w);

  /** See {@link Metering#copiesSent}: a graceful stop waits for it before the usage writer's last flush. */
  Future<Void> copiesSent();

  /** Stops background work, handing on what is still waiting for up to {@code timeoutMs}. */
  Future<Void> close(long timeoutMs);
}
