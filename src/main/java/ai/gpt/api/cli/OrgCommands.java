package ai.gpt.api.cli;

import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;

/** {@code org create NAME}. */
final class OrgCommands {
  private static final String INSERT = "INSERT INTO organizations (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id";
  private static final String BY_NAME_OR_ID = "SELECT id FROM organizations WHERE name = $1 OR id::text = $1";

  private OrgCommands() {}

  static void run(Pool pool, Args args) {
    String action = args.word(1, "org action (create)");
    if (!action.equals("create")) {
      throw new CliException("Unknown org action '" + action + "'. Use: org create NAME");
    }
    args.allowOnly();
    String name = args.word(2, "organization name");
    RowSet<Row> rows = pool.preparedQuery(INSERT).execute(Tuple.of(name)).await();
    if (rows.size() == 0) {
      throw new CliException("An organization named '" + name + "' already exists.");
    }
    System.out.println("Created organization " + rows.iterator().next().getLong("id") + " '" + name + "'");
  }

  /** Resolves an organization given by name or numeric id. */
  static long resolve(Pool pool, String nameOrId) {
    RowSet<Row> rows = pool.preparedQuery(BY_NAME_OR_ID).execute(Tuple.of(nameOrId)).await();
    if (rows.size() == 0) {
      throw new CliException("No organization named or numbered '" + nameOrId + "'.");
    }
    return rows.iterator().next().getLong("id");
  }
}
