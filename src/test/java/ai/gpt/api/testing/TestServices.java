package ai.gpt.api.testing;

import ai.gpt.api.db.Database;
import ai.gpt.api.db.Migrations;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Pool;

/**
 * The real PostgreSQL and Redis on this machine, with a database of the tests' own: created fresh once per
 * test JVM (TEST_DATABASE_URL's database, default gptapi_test) and migrated like production.
 */
public final class TestServices {
  public static final String ADMIN_URL = env("TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres");
  public static final String DATABASE = env("TEST_DATABASE", "gptapi_test");
  public static final String DATABASE_URL = ADMIN_URL.substring(0, ADMIN_URL.lastIndexOf('/') + 1) + DATABASE;
  public static final String REDIS_URL = env("TEST_REDIS_URL", "redis://127.0.0.1:6379/9");
  public static final String PEPPER = "test-pepper-0123456789";
  public static final String JWT_SECRET = "test-jwt-secret-0123456789abcdef0123";
  public static final String SECRETS_KEY = "test-secrets-key-0123456789abcdef0123";

  private static boolean ready;

  private TestServices() {}

  /** Drops and recreates the test database on first use in this JVM, then applies the migrations. */
  public static synchronized void ensureDatabase() {
    if (ready) {
      return;
    }
    Vertx vertx = Vertx.vertx();
    try {
      Pool admin = Database.pool(vertx, ADMIN_URL, 1);
      admin.query("DROP DATABASE IF EXISTS " + DATABASE + " WITH (FORCE)").execute().await();
      admin.query("CREATE DATABASE " + DATABASE).execute().await();
      admin.close().await();
    } finally {
      vertx.close().await();
    }
    Migrations.migrate(DATABASE_URL);
    ready = true;
  }

  /** Empties the test Redis database (only ever the one TEST_REDIS_URL names). */
  public static void flushRedis(Vertx vertx) {
    Redis redis = Redis.createClient(vertx, REDIS_URL);
    try {
      redis.send(Request.cmd(Command.FLUSHDB)).await();
    } finally {
      redis.close();
    }
  }

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? fallback : v;
  }
}
