package ai.gpt.api.status;

import ai.gpt.api.db.Database;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;

/**
 * Empties the status tables (the test database lives for the whole test JVM). Call it before starting a gateway:
 * a running status monitor writes to them at once.
 */
final class StatusTables {
  private StatusTables() {}

  static void clean(Vertx vertx) {
    TestServices.ensureDatabase();
    Pool pool = Database.pool(vertx, TestServices.DATABASE_URL, 1);
    try {
      pool.query("TRUNCATE status_minutes, status_mail_outbox, incident_updates, incidents, status_subscribers"
          + " RESTART IDENTITY").execute().await();
    } finally {
      pool.close().await();
    }
  }
}
