package ai.gpt.api.billing.recharge;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the per-settlement check knows of one organization, from {@link RechargeAttempts#watch} (refreshed by
 * {@link WatchCache}). Shared by every event loop, so its mutable parts are atomics: the first settlement that
 * sees a change claims it with a compare-and-set, and the others do nothing.
 */
final class OrgWatch {
  private final boolean rechargeEnabled;
  private final long rechargeThresholdMicros;
  /** A charge is pending or the daily cap is reached (as loaded), or this replica has just begun one. */
  private final AtomicBoolean rechargeBlocked;
  /** The low-balance thresholds already e-mailed (see {@link LowBalanceAlerts}). */
  private final AtomicInteger alerted;

  OrgWatch(RechargeAttempts.Watch w, LowBalanceAlerts alerts) {
    this.rechargeEnabled = w.enabled();
    this.rechargeThresholdMicros = w.thresholdMicros();
    this.rechargeBlocked = new AtomicBoolean(w.blocked());
    this.alerted = new AtomicInteger(alerts.mask(w.alerted()));
  }

  /** True for the one caller that should begin a charge now. */
  boolean claimRecharge(long balance) {
    return rechargeEnabled && balance < rechargeThresholdMicros && !rechargeBlocked.get()
        && rechargeBlocked.compareAndSet(false, true);
  }

  /**
   * Moves the e-mailed mask to {@code below}; the previous mask for the one caller that moved it, else
   * {@code below} itself (nothing to do).
   */
  int moveAlerted(int below) {
    int before = alerted.get();
    return before != below && alerted.compareAndSet(before, below) ? before : below;
  }
}
