package ai.gpt.api.billing.recharge;

import ai.gpt.api.metering.BalanceWatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-settlement check: on the request path of every request, so it reads only memory ({@link WatchCache})
 * and does a few comparisons. Only a change (the balance below the auto-recharge threshold with no charge in
 * flight, or below or back above a low-balance threshold) starts asynchronous work, claimed by one settlement
 * with a compare-and-set so fifty settlements crossing at once start it once per replica; PostgreSQL then makes
 * it once across replicas.
 */
final class BalanceAlerts implements BalanceWatch {
  private static final Logger LOG = LoggerFactory.getLogger(BalanceAlerts.class);

  private final WatchCache cache;
  private final RechargeCharger charger;
  private final LowBalanceAlerts lowBalance;

  BalanceAlerts(WatchCache cache, RechargeCharger charger, LowBalanceAlerts lowBalance) {
    this.cache = cache;
    this.charger = charger;
    this.lowBalance = lowBalance;
  }

  @Override
  public void settled(long orgId, long balanceAfterMicros) {
    try {
      cache.with(orgId, w -> check(orgId, balanceAfterMicros, w));
    } catch (RuntimeException e) { // never fail a settlement
      LOG.warn("Balance check of organization {} failed: {}", orgId, e.toString());
    }
  }

  private void check(long orgId, long balance, OrgWatch w) {
    if (w.claimRecharge(balance)) {
      charger.start(orgId)
          // Not begun (off, capped or pending elsewhere): reload what PostgreSQL says, so it is not asked again.
          .onSuccess(begun -> {
            if (!begun) {
              cache.forget(orgId);
            }
          })
          // Unknown outcome: stays blocked here until the entry is reloaded, then the next settlement retries.
          .onFailure(e -> LOG.warn("Auto-recharge of organization {} could not be started: {}", orgId,
              e.toString()));
    }
    int below = lowBalance.below(balance);
    int before = w.moveAlerted(below);
    if (before != below) {
      lowBalance.changed(orgId, below & ~before, before & ~below, balance);
    }
  }
}
