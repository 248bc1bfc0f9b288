package ai.gpt.api.cli;

import ai.gpt.api.admin.AdminAudit;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.Locale;

/**
 * {@code admin grant EMAIL} and {@code admin revoke EMAIL}: platform admins may use /api/admin. The change and its
 * audit row (admin_user_id NULL: the operator CLI) are one transaction; the API checks the flag on every request,
 * so it applies at once.
 */
final class AdminCommands {
  private static final String SET = "UPDATE users SET is_admin = $2, updated_at = now() WHERE email = $1"
      + " RETURNING id, (SELECT is_admin FROM users WHERE email = $1) AS was_admin";

  private AdminCommands() {}

  static void run(Pool pool, Args args) {
    String action = args.word(1, "admin action (grant, revoke)");
    args.allowOnly();
    boolean grant = switch (action) {
      case "grant" -> true;
      case "revoke" -> false;
      default -> throw new CliException("Unknown admin action '" + action + "'. Use: admin grant EMAIL | admin revoke EMAIL");
    };
    String email = args.word(2, "e-mail address").strip().toLowerCase(Locale.ROOT);
    Long userId = pool.withTransaction(tx -> tx.preparedQuery(SET).execute(Tuple.of(email, grant)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.succeededFuture((Long) null);
      }
      var row = rows.iterator().next();
      long id = row.getLong("id");
      return AdminAudit.record(tx, null, grant ? "admin.grant" : "admin.revoke", "user", id,
          new JsonObject().put("email", email).put("was_admin", row.getBoolean("was_admin")).put("via", "cli"))
          .map(id);
    })).await();
    if (userId == null) {
      throw new CliException("No user with the e-mail address '" + email + "'.");
    }
    System.out.println((grant ? "Granted" : "Revoked") + " platform admin " + (grant ? "to " : "from ") + email
        + " (user " + userId + ")");
  }
}
