package ai.gpt.api.db;

import io.vertx.pgclient.PgConnectOptions;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * Applies the forward-only migrations in {@code sql/} (packaged as classpath:db/migration).
 * Flyway is JDBC and blocking: call this from main() before Vert.x starts, or inside executeBlocking.
 */
public final class Migrations {
  private Migrations() {}

  public static MigrateResult migrate(String databaseUrl) {
    PgConnectOptions o = Database.connectOptions(databaseUrl);
    String jdbcUrl = "jdbc:postgresql://" + o.getHost() + ":" + o.getPort() + "/" + o.getDatabase();
    return Flyway.configure()
        .dataSource(jdbcUrl, o.getUser(), o.getPassword())
        .locations("classpath:db/migration")
        .load()
        .migrate();
  }
}
