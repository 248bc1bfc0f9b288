package ai.gpt.api.status;

import io.vertx.sqlclient.Pool;

/** Empties the status tables (the test database lives for the whole test JVM). */
final class StatusTables {
  private StatusTables() {}

  static void clean(Pool pool) {
    pool.query("TRUNCATE status_minutes, incident_updates, incidents, status_subscribers RESTART IDENTITY")
        .execute().await();
  }
}
