package ai.gpt.api.billing.stripe;

import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.billing.plans.Plan;
import ai.gpt.api.billing.plans.PlanCatalog;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * {@code invoice.paid} of a subscription: grants the plan's monthly included credit, once per invoice (ledger key
 * {@code stripe:invoice:<invoice id>}, written with the event's row in one transaction), for the invoices that open
 * a paid period: the first ({@code subscription_create}) and each renewal ({@code subscription_cycle}). Proration
 * invoices of a plan change, manual invoices and invoices of nothing paid (a trial, a 100% coupon) grant nothing,
 * so switching plans back and forth cannot collect a month's credit each time.
 *
 * <p>The plan is the one recorded for the subscription; the invoice may arrive before the subscription's own
 * events, so then the plan and organization come from the subscription's metadata that the invoice carries
 * (set at checkout), else from its lines. Invoices of no subscription are recorded and ignored.
 */
final class InvoiceEvents implements StripeEventHandler {
  private static final Set<String> PERIOD_REASONS = Set.of("subscription_create", "subscription_cycle");

  private final StripeEvents events;
  private final CreditDebits debits;
  private final PlanCatalog plans;
  private final Subscriptions subscriptions;

  InvoiceEvents(StripeEvents events, CreditDebits debits, PlanCatalog plans, Subscriptions subscriptions) {
    this.events = events;
    this.debits = debits;
    this.plans = plans;
    this.subscriptions = subscriptions;
  }

  @Override
  public Set<String> types() {
    return Set.of("invoice.paid");
  }

  @Override
  public Future<StripeEvents.Outcome> apply(StripeEvent e) {
    JsonObject invoice = e.object();
    String invoiceId = StripeFields.id(invoice, "id");
    JsonObject details = StripeFields.object(StripeFields.object(invoice, "parent"), "subscription_details");
    // API 2025-03-31.basil and later name the subscription under parent; older versions at the top level.
    String subscriptionId = details != null ? StripeFields.id(details, "subscription")
        : StripeFields.id(invoice, "subscription");
    if (invoiceId == null) {
      return events.flag(e, null, "unexpected_invoice");
    }
    if (subscriptionId == null) {
      return events.orgOf(invoice).compose(orgId -> events.record(e, orgId, "not_subscription"));
    }
    return subscriptions.find(subscriptionId).compose(known -> known != null
        ? grant(e, invoiceId, subscriptionId, known.orgId(), known.planId())
        : fromMetadata(e, invoiceId, subscriptionId, details));
  }

  /** A subscription no event told us about yet: its organization and plan as its metadata names them. */
  private Future<StripeEvents.Outcome> fromMetadata(StripeEvent e, String invoiceId, String subscriptionId,
      JsonObject details) {
    JsonObject invoice = e.object();
    JsonObject metadata = StripeFields.object(details, "metadata");
    if (metadata == null || StripeFields.string(metadata, "plan_id") == null) {
      metadata = StripeFields.listData(invoice, "lines").stream().map(line -> StripeFields.object(line, "metadata"))
          .filter(m -> StripeFields.string(m, "plan_id") != null).findFirst().orElse(metadata);
    }
    String planId = StripeFields.string(metadata, "plan_id");
    JsonObject owner = new JsonObject().put("metadata", metadata).put("customer", invoice.getValue("customer"));
    return events.orgOf(owner).compose(orgId -> orgId == null ? events.flag(e, null, "unknown_subscription")
        : planId == null ? events.flag(e, orgId, "unknown_plan")
        : grant(e, invoiceId, subscriptionId, orgId, planId));
  }

  private Future<StripeEvents.Outcome> grant(StripeEvent e, String invoiceId, String subscriptionId, long orgId,
      String planId) {
    Long paidCents = e.amount("amount_paid");
    if (!PERIOD_REASONS.contains(StripeFields.string(e.object(), "billing_reason"))) {
      return events.record(e, orgId, "not_a_period_invoice");
    }
    if (paidCents == null || paidCents <= 0) {
      return events.record(e, orgId, "nothing_paid");
    }
    return plans.find(planId).compose(plan -> {
      if (plan == null) {
        return events.flag(e, orgId, "unknown_plan");
      }
      if (plan.includedCreditMicros() == 0) {
        return events.record(e, orgId, "no_included_credit");
      }
      return events.knownOrg(orgId).compose(known -> !known ? events.flag(e, orgId, "unknown_org")
          : credit(e, orgId, plan, invoiceId, subscriptionId));
    });
  }

  private Future<StripeEvents.Outcome> credit(StripeEvent e, long orgId, Plan plan, String invoiceId,
      String subscriptionId) {
    long micros = plan.includedCreditMicros();
    String key = "stripe:invoice:" + invoiceId;
    String reason = "Included credit of plan " + plan.id() + " (Stripe invoice " + invoiceId + ", subscription "
        + subscriptionId + ", event " + e.id() + ")";
    return debits.credit(orgId, micros, () -> events.pool().withTransaction(tx -> CreditDebits.boundTransaction(tx)
        .compose(v -> events.writeWithLedger(tx, e, orgId, micros, key, reason, "credited"))),
        StripeEvents.Outcome::applied);
  }
}
