package ai.gpt.api.billing.recharge;

import ai.gpt.api.billing.Money;
import ai.gpt.api.billing.OwnerMail;
import ai.gpt.api.billing.stripe.BillingLinks;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;

/**
 * A charge that failed (declined, needing authentication, refused by Stripe, or its payment_failed event): the
 * attempt is failed and auto-recharge turned off in one transaction (so a card that keeps failing is not charged
 * again and again), then the owners are e-mailed, once per attempt.
 */
final class RechargeFailures {
  private final Pool pool;
  private final OwnerMail mail;
  private final BillingLinks links;
  private final WatchCache cache;

  RechargeFailures(Pool pool, OwnerMail mail, BillingLinks links, WatchCache cache) {
    this.pool = pool;
    this.mail = mail;
    this.links = links;
    this.cache = cache;
  }

  /** Fails a pending attempt on its own (Stripe refused to create or confirm its PaymentIntent). */
  Future<Void> fail(long orgId, long attemptId, String paymentIntent, String reason) {
    return pool.withTransaction(tx -> RechargeAttempts.fail(tx, attemptId, paymentIntent, reason))
        .onSuccess(amount -> failed(orgId, amount, reason)).mapEmpty();
  }

  /**
   * After the transaction that failed an attempt committed: forgets the cached settings and, when this
   * transaction was the one that failed it ({@code amountMicros} not null), e-mails the owners without waiting.
   */
  void failed(long orgId, Long amountMicros, String reason) {
    cache.forget(orgId);
    if (amountMicros != null) {
      mail.send(orgId, "Auto-recharge failed and is now off", org -> "Auto-recharge of "
          + Money.formatUsd(amountMicros) + " for " + org + " failed: " + reason + ".\n\nAuto-recharge is now off,"
          + " so the balance will not be topped up automatically. Make a top-up with a working card (it is saved"
          + " for auto-recharge) and turn auto-recharge back on, on the Billing page:\n"
          + links.billingPage(orgId, null) + "\n");
    }
  }
}
