package ai.gpt.api.billing.recharge;

import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.billing.OwnerMail;
import ai.gpt.api.billing.stripe.BillingLinks;
import ai.gpt.api.billing.stripe.BillingStateSection;
import ai.gpt.api.billing.stripe.StripeApi;
import ai.gpt.api.billing.stripe.StripeEventHandler;
import ai.gpt.api.billing.stripe.StripeEvents;
import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.metering.BalanceWatch;
import ai.gpt.api.orgs.Memberships;
import io.vertx.ext.web.Router;
import io.vertx.sqlclient.Pool;

/**
 * Auto-recharge and low-balance e-mails, assembled: the settings routes, the PaymentIntent events (the card a
 * top-up saves, the credit or failure of a charge), the per-settlement check metering calls, and the billing
 * state's {@code auto_recharge} section. See README "Billing".
 */
public final class AutoRecharge {
  private final BillingSettings settings;
  private final AutoRechargeRoutes routes;
  private final PaymentIntentEvents paymentIntents;
  private final BalanceAlerts alerts;
  private final AutoRechargeSection section;

  /** @param stripe null when billing is off (the routes then answer 503 and nothing is watched) */
  public AutoRecharge(Pool pool, StripeApi stripe, StripeEvents events, CreditDebits debits,
      BillingSettings settings, OwnerMail mail, BillingLinks links) {
    this.settings = settings;
    AutoRechargeStore store = new AutoRechargeStore(pool);
    RechargeAttempts attempts = new RechargeAttempts(pool, settings.autoRechargeMaxPerDay());
    LowBalanceAlerts lowBalance = new LowBalanceAlerts(pool, mail, links, settings.lowBalanceMicros());
    WatchCache cache = new WatchCache(attempts, lowBalance);
    RechargeFailures failures = new RechargeFailures(pool, mail, links, cache);
    this.routes = new AutoRechargeRoutes(settings, new Memberships(pool), store, cache);
    this.paymentIntents = new PaymentIntentEvents(events, debits, failures, cache);
    this.alerts = new BalanceAlerts(cache, new RechargeCharger(attempts, stripe, failures), lowBalance);
    this.section = new AutoRechargeSection(store, attempts, settings.autoRechargeMaxPerDay());
  }

  /** {@code GET} and {@code PUT /api/orgs/{id}/billing/auto-recharge}, signed in. */
  public void mount(Router api) {
    routes.mount(api);
  }

  /** The handler of {@code payment_intent.succeeded} and {@code payment_intent.payment_failed}. */
  public StripeEventHandler paymentIntentEvents() {
    return paymentIntents;
  }

  /** For {@code Metering.watchBalances}: nothing to watch while billing is off. */
  public BalanceWatch balanceWatch() {
    return settings.enabled() ? alerts : BalanceWatch.NONE;
  }

  public BillingStateSection section() {
    return section;
  }
}
