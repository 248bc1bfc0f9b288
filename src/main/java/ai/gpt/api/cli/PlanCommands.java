package ai.gpt.api.cli;

import ai.gpt.api.billing.Money;
import ai.gpt.api.billing.plans.Plan;
import ai.gpt.api.billing.plans.PlanCatalog;
import ai.gpt.api.billing.plans.PlanChanges;
import ai.gpt.api.billing.plans.PlanEdits;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import java.util.function.Supplier;

/**
 * {@code plan list}, {@code plan create ID --name N [fields]} and {@code plan set ID [fields]}: the same checks,
 * audit rows and key reloads as the admin API ({@link PlanEdits}); the options are the API's field names with '-'
 * for '_' ({@code --monthly-price-usd 20}), and {@code none} clears a limit or the Stripe Price.
 */
final class PlanCommands {
  private PlanCommands() {}

  static void run(Pool pool, Redis redis, Args args) {
    String action = args.word(1, "plan action (list, create, set)");
    args.allowOnly(PlanChanges.FIELDS.stream().map(PlanCommands::option).toArray(String[]::new));
    PlanEdits edits = new PlanEdits(pool, redis);
    switch (action) {
      case "list" -> list(pool);
      case "create" -> {
        String id = checked(() -> PlanChanges.checkId(args.word(2, "plan id")));
        print(await(() -> edits.create(null, id, changes(args))));
      }
      case "set" -> print(await(() -> edits.update(null, args.word(2, "plan id"), changes(args))));
      default -> throw new CliException("Unknown plan action '" + action + "'. Use: plan list | plan create ID"
          + " --name N [...] | plan set ID [...]");
    }
  }

  private static PlanChanges changes(Args args) {
    PlanChanges changes = new PlanChanges();
    for (String field : PlanChanges.FIELDS) {
      String text = args.option(option(field));
      if (text != null) {
        checked(() -> changes.text(field, text));
      }
    }
    return changes;
  }

  private static String option(String field) {
    return field.replace('_', '-');
  }

  private static void list(Pool pool) {
    System.out.printf("%-16s %-20s %12s %12s %-8s %10s %8s%n", "ID", "NAME", "PRICE/MONTH", "CREDIT", "FOR SALE",
        "RPM", "CONC");
    for (Plan p : new PlanCatalog(pool).all().await()) {
      System.out.printf("%-16s %-20s %12s %12s %-8s %10s %8s%n", p.id(), p.name(),
          Money.formatUsd(p.monthlyPriceMicros()), Money.formatUsd(p.includedCreditMicros()), p.forSale() ? "yes" : "no",
          text(p.limits().rpm()), text(p.limits().concurrency()));
    }
  }

  private static void print(Plan p) {
    System.out.println("Plan " + p.id() + " '" + p.name() + "': " + Money.formatUsd(p.monthlyPriceMicros())
        + " a month, " + Money.formatUsd(p.includedCreditMicros()) + " of credit included, "
        + (p.forSale() ? "for sale" : "not for sale") + (p.stripePriceId() == null ? "" : ", Stripe Price "
        + p.stripePriceId()));
    for (String limit : PlanChanges.LIMITS) {
      System.out.printf("%-12s %12s%n", limit, text(p.toJson().getJsonObject("limits").getValue(limit)));
    }
  }

  private static <T> T checked(Supplier<T> read) {
    try {
      return read.get();
    } catch (PlanChanges.Invalid e) {
      throw new CliException((e.field.equals("id") ? "The plan id" : "--" + option(e.field)) + " " + e.getMessage()
          + ".");
    }
  }

  /** The API's refusals (an existing id, a combination the table refuses) as the CLI's. */
  private static Plan await(Supplier<Future<Plan>> edit) {
    try {
      return edit.get().await();
    } catch (ApiError e) {
      throw new CliException(e.getMessage());
    }
  }

  private static String text(Object v) {
    return v == null ? "-" : v.toString();
  }
}
