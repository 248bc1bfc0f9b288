package ai.gpt.api.metering;

import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.limits.SettledUsage;
import io.vertx.core.Future;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * METERING=off: every authenticated request is admitted at once, and its end settles nothing. No rate or
 * concurrency limit, no credit hold or charge, no usage event or row, not a single Redis call per request. For
 * benchmarks (the proxy's own ceiling) and internal single-tenant installs that bill nobody.
 */
public final class Unmetered implements RequestMetering {
  private static final Logger LOG = LoggerFactory.getLogger(Unmetered.class);
  /** No windows (so no x-ratelimit-* headers) and no balance to report. */
  private static final AdmissionResult ADMITTED =
      new AdmissionResult(AdmissionResult.Outcome.ADMITTED, null, -1, null, null, 0);
  private static final Future<AdmissionResult> ADMIT = Future.succeededFuture(ADMITTED);

  public Unmetered() {
    LOG.warn("METERING=off: requests are authenticated and proxied but not rate limited, not charged and not"
        + " recorded as usage. Only for benchmarks and internal single-tenant installs.");
  }

  @Override
  public Future<AdmissionResult> admit(AdmissionRequest r, String model, String endpoint) {
    return ADMIT;
  }

  @Override
  public Future<Void> settle(SettledUsage u, long holdMicros) {
    return Future.succeededFuture();
  }

  @Override
  public boolean charges() {
    return false;
  }

  @Override
  public void onLimited(BiConsumer<AdmissionRequest, AdmissionResult> listener) {
    // nothing is ever limited
  }

  @Override
  public void watchBalances(BalanceWatch w) {
    // no balance changes
  }

  @Override
  public Future<Void> copiesSent() {
    return Future.succeededFuture(); // nothing is settled, so nothing is copied
  }

  @Override
  public Future<Void> close(long timeoutMs) {
    return Future.succeededFuture();
  }
}
