package ai.gpt.api.db;

import ai.gpt.api.config.ConfigException;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;

/** Connection settings and the shared asynchronous pool for PostgreSQL. */
public final class Database {
  private Database() {}

  public static PgConnectOptions connectOptions(String databaseUrl) {
    try {
      // fromUri understands "postgresql://" only; accept the common "postgres://" alias too.
      String url = databaseUrl.startsWith("postgres://") ? "postgresql://" + databaseUrl.substring(11) : databaseUrl;
      return PgConnectOptions.fromUri(url).setCachePreparedStatements(true).setPipeliningLimit(16);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("DATABASE_URL", "cannot be parsed: " + e.getMessage());
    }
  }

  public static Pool pool(Vertx vertx, String databaseUrl, int maxSize) {
    return PgBuilder.pool()
        .with(new PoolOptions().setMaxSize(maxSize).setShared(false))
        .connectingTo(connectOptions(databaseUrl))
        .using(vertx)
        .build();
  }
}
