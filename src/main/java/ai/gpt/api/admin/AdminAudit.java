package ai.gpt.api.admin;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

/**
 * The append-only {@code admin_audit} log. Every admin write calls {@link #record} on the same transaction as the
 * change it describes, so a change is never committed without its audit row (nor the row without the change).
 * PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the table (V009 trigger).
 */
public final class AdminAudit {
  private static final String INSERT = "INSERT INTO admin_audit (admin_user_id, action, target_type, target_id, details)"
      + " VALUES ($1, $2, $3, $4, $5)";

  private AdminAudit() {}

  /** Inserts one audit row; {@code adminUserId} is null for the operator CLI. */
  public static Future<Void> record(SqlClient tx, Long adminUserId, String action, String targetType,
      Object targetId, JsonObject details) {
    return tx.preparedQuery(INSERT)
        .execute(Tuple.of(adminUserId, action, targetType, targetId == null ? null : targetId.toString(),
            details == null ? new JsonObject() : details))
        .mapEmpty();
  }
}
