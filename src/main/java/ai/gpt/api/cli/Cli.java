package ai.gpt.api.cli;

import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.config.ConfigException;
import ai.gpt.api.config.Env;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.config.RedisClients;
import ai.gpt.api.db.Database;
import ai.gpt.api.db.Migrations;
import ai.gpt.api.status.Status;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import java.util.Arrays;
import java.util.List;

/** Dispatches {@code gpt-api <command>}; returns the process exit code. */
public final class Cli {
  static final String USAGE = """
      Usage: gpt-api [command]
        serve                                    start the gateway (default)
        migrate                                  apply database migrations and exit
        org create NAME                          create an organization
        key create --org ORG [--name N] [--models a,b] [--expires 2027-01-01T00:00:00Z]
                                                 create an API key (printed once)
        key revoke ID                            revoke a key (public id or number)
        backend add --model M --url U [--api-key K] [--slots N] [--weight N]
        backend list | drain ID | enable ID | remove ID
        credits add --org ORG --usd 10 --reason TEXT [--idempotency-key K]
        credits show --org ORG                  balance and latest ledger rows
        credits reload --org ORG                reload one hot balance from the ledger on next use
        credits reload-all                      the same for every organization (after restoring Redis)
        limits set --org ORG|--key ID [--plan P] [--rpm N] [--rph N] [--rpd N] [--tpm N] [--tph N] [--tpd N]
                   [--concurrency N]             values, or 'none' to clear
        limits show --org ORG|--key ID
        plan list                                every plan: price, included credit, for sale, limits
        plan create ID --name N [--description T] [--monthly-price-usd 20] [--included-credit-usd 25]
                   [--for-sale true|false] [--stripe-price-id price_...|none] [--rpm N|none] ... [--concurrency N|none]
        plan set ID [the options of plan create]  change a plan (its limits reach every gateway at once)
        admin grant EMAIL | admin revoke EMAIL   make a user a platform admin (the /api/admin API), or not
        billing reconcile --from YYYY-MM-DD --to YYYY-MM-DD
                                                 compare Stripe's payments, refunds and paid invoices of those
                                                 UTC days (both included) with the ledger; exit 1 on a difference
        incident open --title T --severity critical|high|medium|low --message M [--status S]
                      [--services chat_completions,embeddings,api,billing] [--models a,b] [--started-at ISO-TIME]
        incident update ID --status investigating|identified|monitoring|resolved --message M [--severity S]
        incident resolve ID [--message M] [--resolved-at ISO-TIME]
        incident list [--state open|resolved]   status page incidents (e-mailed to status subscribers)
        train-cds                                run the serving path once without PostgreSQL or Redis and exit: the
                                                 training run of the image's class-data-sharing archive (Dockerfile)
      Configuration comes from environment variables and .env (see .env.example).""";

  private Cli() {}

  public static int run(String[] argv) {
    return run(Env.load(), argv);
  }

  public static int run(Env env, String[] argv) {
    List<String> words = Arrays.asList(argv);
    String command = words.isEmpty() ? "serve" : words.get(0);
    try {
      GatewayConfig config = GatewayConfig.from(env);
      return switch (command) {
        case "serve" -> ServeCommand.run(config);
        case "migrate" -> withLocalServices(config, c -> {
          Migrations.migrate(c.databaseUrl());
          System.out.println("Database is up to date.");
        });
        case "org", "key", "backend", "credits", "limits", "plan", "admin", "billing", "incident" ->
            withLocalServices(config, c -> admin(c, new Args(words)));
        case "train-cds" -> TrainCdsCommand.run(env);
        case "help", "--help", "-h" -> {
          System.out.println(USAGE);
          yield 0;
        }
        default -> throw new CliException("Unknown command '" + command + "'.\n" + USAGE);
      };
    } catch (ConfigException | CliException e) {
      System.err.println(e.getMessage());
      return 1;
    }
  }

  private interface Work {
    void run(GatewayConfig config);
  }

  /** Runs a one-shot command against the configured servers, or the local embedded ones when none are set. */
  private static int withLocalServices(GatewayConfig config, Work work) {
    if (!config.embedded()) {
      work.run(config);
      return 0;
    }
    try (LocalServices local = LocalServices.start(config)) {
      work.run(local.config());
      return 0;
    }
  }

  private static void admin(GatewayConfig config, Args args) {
    Migrations.migrate(config.databaseUrl());
    Vertx vertx = Vertx.vertx();
    Pool pool = Database.pool(vertx, config.databaseUrl(), 2);
    Redis redis = RedisClients.create(vertx, config.redisUrl(), 6, 24);
    try {
      switch (args.word(0, "command")) {
        case "org" -> OrgCommands.run(pool, args);
        case "key" -> KeyCommands.run(pool, redis, new KeyHasher(config.keyPepper()), args);
        case "credits" -> CreditCommands.run(pool, redis, args);
        case "limits" -> LimitCommands.run(pool, redis, args);
        case "plan" -> PlanCommands.run(pool, redis, args);
        case "admin" -> AdminCommands.run(pool, args);
        case "billing" -> BillingCommands.run(vertx, pool, config.billing(), args);
        case "incident" ->
            IncidentCommands.run(Status.incidents(config, pool), args);
        default -> BackendCommands.run(pool, args);
      }
    } finally {
      vertx.close().await();
    }
  }
}
