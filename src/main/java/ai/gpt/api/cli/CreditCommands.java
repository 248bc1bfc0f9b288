package ai.gpt.api.cli;

import ai.gpt.api.billing.AccountStatement;
import ai.gpt.api.billing.CreditResult;
import ai.gpt.api.billing.Ledger;
import ai.gpt.api.billing.LedgerEntry;
import ai.gpt.api.billing.LedgerException;
import ai.gpt.api.billing.Money;
import ai.gpt.api.limits.HotBalances;
import ai.gpt.api.limits.LimiterSettings;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;

/**
 * {@code credits add --org ORG --usd 10 --reason "..." [--idempotency-key K]}, {@code credits show --org ORG},
 * {@code credits reload --org ORG} and {@code credits reload-all}. PostgreSQL's ledger is the source of truth; after a credit the org's
 * hot balance in Redis is dropped so the next admission reloads it from the ledger. {@code reload} drops hot
 * balances on demand: a gateway start no longer drops them all, so an operator who restored Redis from an old
 * snapshot (balances from before later debits) says so here.
 */
final class CreditCommands {
  private static final int SHOWN_ROWS = 20;

  private CreditCommands() {}

  static void run(Pool pool, Redis redis, Args args) {
    String action = args.word(1, "credits action (add, show, reload, reload-all)");
    Ledger ledger = new Ledger(pool);
    try {
      switch (action) {
        case "add" -> add(ledger, redis, args);
        case "show" -> show(ledger, args);
        case "reload" -> reload(ledger, redis, args);
        case "reload-all" -> reloadAll(pool, redis, args);
        default -> throw new CliException(
            "Unknown credits action '" + action + "'. Use: credits add | show | reload | reload-all");
      }
    } catch (LedgerException e) {
      throw new CliException(e.getMessage());
    }
  }

  private static void add(Ledger ledger, Redis redis, Args args) {
    args.allowOnly("org", "usd", "reason", "idempotency-key");
    CreditResult result = ledger.creditUsd(args.required("org"), args.required("usd"), args.required("reason"),
        args.option("idempotency-key")).await();
    long orgId = result.entry().orgId();
    HotBalances.drop(redis, orgId, LimiterSettings.defaults().balanceTtlMs()).await();
    System.out.println((result.applied() ? "Credited " : "Already credited (same idempotency key) ")
        + Money.formatUsd(result.entry().amountMicros()) + " to organization " + orgId
        + "; balance " + Money.formatUsd(result.balanceMicros()));
  }

  private static void reload(Ledger ledger, Redis redis, Args args) {
    args.allowOnly("org");
    long orgId = ledger.resolveOrg(args.required("org")).await();
    HotBalances.drop(redis, orgId, LimiterSettings.defaults().balanceTtlMs()).await();
    System.out.println("Organization " + orgId + ": its hot balance reloads from the ledger on next use");
  }

  private static void reloadAll(Pool pool, Redis redis, Args args) {
    args.allowOnly();
    int dropped = HotBalances.dropEvery(pool, redis, LimiterSettings.defaults().balanceTtlMs()).await();
    System.out.println(dropped + " organizations: their hot balances reload from the ledger on next use");
  }

  private static void show(Ledger ledger, Args args) {
    args.allowOnly("org");
    AccountStatement statement = ledger.statement(args.required("org"), SHOWN_ROWS).await();
    System.out.println("Organization " + statement.orgId() + " '" + statement.orgName() + "': balance "
        + Money.formatUsd(statement.balanceMicros()));
    for (LedgerEntry e : statement.recent()) {
      System.out.printf("%s  %-10s %14s  %s%n", e.createdAt(), e.kind(), Money.formatUsd(e.amountMicros()),
          e.reason() == null ? "" : e.reason());
    }
  }
}
