package ai.gpt.api.cli;

import ai.gpt.api.billing.stripe.Reconciliation;
import ai.gpt.api.billing.stripe.StripeApi;
import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.input.Dates;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;

/**
 * {@code billing reconcile --from YYYY-MM-DD --to YYYY-MM-DD}: Stripe's payments, refunds and paid invoices of the
 * UTC days from {@code --from} through {@code --to} (both included) against the ledger; prints every difference and
 * fails (exit 1) when there is one, so it can run from cron or CI.
 */
final class BillingCommands {
  private BillingCommands() {}

  static void run(Vertx vertx, Pool pool, BillingSettings settings, Args args) {
    String action = args.word(1, "billing action (reconcile)");
    if (!"reconcile".equals(action)) {
      throw new CliException("Unknown billing action '" + action + "'. Use: billing reconcile");
    }
    args.allowOnly("from", "to");
    LocalDate from = day(args, "from");
    LocalDate to = day(args, "to");
    if (to.isBefore(from)) {
      throw new CliException("--to must not be before --from.");
    }
    if (!settings.enabled()) {
      throw new CliException("Billing is not enabled (no STRIPE_SECRET_KEY): there is nothing to reconcile.");
    }
    Instant start = from.atStartOfDay(ZoneOffset.UTC).toInstant();
    Instant end = to.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
    Reconciliation.Report report;
    try {
      report = new Reconciliation(pool, new StripeApi(vertx, settings)).run(start, end).await();
    } catch (ApiError e) {
      throw new CliException(e.getMessage());
    }
    System.out.println("Stripe, " + start + " to " + end + ": " + report.payments() + " payments, "
        + report.refundedCharges() + " refunded charges, " + report.paidInvoices() + " paid invoices; ledger: "
        + report.credits() + " credits from Stripe events.");
    report.differences().forEach(System.out::println);
    if (!report.differences().isEmpty()) {
      throw new CliException(report.differences().size() + " difference(s) between Stripe and the ledger.");
    }
    System.out.println("No differences.");
  }

  private static LocalDate day(Args args, String name) {
    try {
      return Dates.day(args.required(name));
    } catch (IllegalArgumentException e) {
      throw new CliException("--" + name + " " + e.getMessage() + ".");
    }
  }
}
