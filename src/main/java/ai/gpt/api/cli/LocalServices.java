package ai.gpt.api.cli;

import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.billing.Ledger;
import ai.gpt.api.billing.Money;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.local.EmbeddedServices;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local run without DATABASE_URL/REDIS_URL: private PostgreSQL and Redis servers under DATA_DIR, and a
 * demo organization with a key saved there so it can be shown on every start.
 */
final class LocalServices implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LocalServices.class);
  static final String DEMO_ORG = "demo";
  static final String DEMO_CREDIT_USD = "10";
  private static final String DEMO_KEY_FILE = "demo-key.txt";

  private final EmbeddedServices servers;
  private final GatewayConfig config;

  private LocalServices(EmbeddedServices servers, GatewayConfig config) {
    this.servers = servers;
    this.config = config;
  }

  static LocalServices start(GatewayConfig configured) {
    EmbeddedServices servers;
    try {
      Path dataDir = Path.of(configured.dataDir());
      if (EmbeddedServices.inUse(dataDir)) {
        // A running local gateway owns the servers; a CLI command just connects to them.
        return new LocalServices(null, withUrls(configured,
            EmbeddedServices.databaseUrl(EmbeddedServices.DEFAULT_POSTGRES_PORT),
            EmbeddedServices.redisUrl(EmbeddedServices.DEFAULT_REDIS_PORT)));
      }
      servers = EmbeddedServices.start(dataDir);
    } catch (NoClassDefFoundError e) {
      throw new CliException("DATABASE_URL and REDIS_URL are not set, and this jar has no embedded servers. "
          + "Set them, or run locally as the README says (with target/local-lib on the class path).");
    } catch (Exception e) {
      throw new CliException("Could not start the embedded local servers: " + e.getMessage());
    }
    return new LocalServices(servers, withUrls(configured, servers.databaseUrl(), servers.redisUrl()));
  }

  private static GatewayConfig withUrls(GatewayConfig configured, String databaseUrl, String redisUrl) {
    return new GatewayConfig(
        configured.databaseUrl() != null ? configured.databaseUrl() : databaseUrl,
        configured.redisUrl() != null ? configured.redisUrl() : redisUrl,
        configured.host(), configured.port(), configured.metricsPort(), configured.keyPepper(),
        configured.maxBodyBytes(), configured.healthIntervalMs(), configured.queueSize(), configured.queueTimeoutMs(),
        configured.upstreamConnectTimeoutMs(), configured.upstreamIdleTimeoutMs(), configured.upstreamPoolSize(),
        configured.eventLoops(), configured.jsonLogs(), configured.dataDir(), configured.backends(),
        configured.failurePolicy(), configured.replicaName(), configured.accounts(), configured.http(),
        configured.billing(), configured.status(), configured.webhooks(), configured.tracing(), configured.discovery(),
        configured.migrateOnStart(), configured.usageRetentionMonths(), configured.metered(),
        configured.allotments());
  }

  GatewayConfig config() {
    return config;
  }

  /** Creates the demo organization and key on first start; prints the key on every start. */
  void ensureDemoKey(Pool pool, KeyHasher hasher) {
    Path file = Path.of(config.dataDir(), DEMO_KEY_FILE);
    try {
      if (!Files.exists(file)) {
        RowSet<Row> org = pool.preparedQuery(
                "INSERT INTO organizations (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id")
            .execute(Tuple.of(DEMO_ORG)).await();
        long orgId = org.iterator().next().getLong(0);
        String key = KeyCommands.create(pool, hasher, orgId, "demo", null, null);
        // Enough to try the API locally; the idempotency key makes it once per data directory's database.
        new Ledger(pool).credit(orgId, Money.parseUsd(DEMO_CREDIT_USD, false), "demo credit", "demo-credit").await();
        Files.writeString(file, key + "\n");
      }
      LOG.info("Demo API key (organization '{}', ${} of credit at first start): {}", DEMO_ORG, DEMO_CREDIT_USD,
          Files.readString(file).strip());
    } catch (IOException e) {
      throw new CliException("Cannot write " + file + ": " + e.getMessage());
    }
  }

  @Override
  public void close() {
    if (servers != null) {
      servers.close();
    }
  }
}
