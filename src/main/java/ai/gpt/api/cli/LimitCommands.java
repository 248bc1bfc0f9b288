package ai.gpt.api.cli;

import ai.gpt.api.auth.KeyInvalidations;
import ai.gpt.api.input.WholeNumber;
import io.vertx.pgclient.PgException;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code limits set --org ORG | --key ID [--plan P] [--rpm N] [--rph N] [--rpd N] [--tpm N] [--tph N] [--tpd N]
 * [--concurrency N]} and {@code limits show --org ORG | --key ID}. An organization's own values override its
 * plan's; a key's values narrow its organization's. {@code none} clears a value (back to the plan, or no
 * narrower key limit).
 */
final class LimitCommands {
  /** The limit columns, in display order; the only names ever spliced into SQL. */
  static final List<String> COLUMNS = List.of("rpm", "rph", "rpd", "tpm", "tph", "tpd", "concurrency");
  private static final String ORG_SHOW = """
      SELECT o.id, o.name, o.plan_id,
             p.rpm AS p_rpm, p.rph AS p_rph, p.rpd AS p_rpd, p.tpm AS p_tpm, p.tph AS p_tph, p.tpd AS p_tpd,
             p.concurrency AS p_concurrency,
             o.rpm, o.rph, o.rpd, o.tpm, o.tph, o.tpd, o.concurrency
        FROM organizations o JOIN plans p ON p.id = o.plan_id
       WHERE o.name = $1 OR o.id::text = $1""";
  private static final String KEY_SHOW = """
      SELECT public_id, rpm, rph, rpd, tpm, tph, tpd, concurrency FROM api_keys
       WHERE public_id = $1 OR id::text = $1""";

  private LimitCommands() {}

  static void run(Pool pool, Redis redis, Args args) {
    String action = args.word(1, "limits action (set, show)");
    List<String> allowed = new ArrayList<>(COLUMNS);
    allowed.addAll(List.of("org", "key", "plan"));
    args.allowOnly(allowed.toArray(String[]::new));
    String org = args.option("org");
    String key = args.option("key");
    if ((org == null) == (key == null)) {
      throw new CliException("Give exactly one of --org ORG or --key ID.");
    }
    switch (action) {
      case "set" -> {
        if (org != null) {
          set(pool, "organizations", "name = $1 OR id::text = $1", org, args, true);
          KeyInvalidations.publishAll(redis).await(); // the org's limits are cached with each of its keys
        } else {
          String publicId = set(pool, "api_keys", "public_id = $1 OR id::text = $1", key, args, false);
          KeyInvalidations.publish(redis, publicId).await(); // replicas reload the key with its new limits
        }
        show(pool, org, key);
      }
      case "show" -> show(pool, org, key);
      default -> throw new CliException("Unknown limits action '" + action + "'. Use: limits set | limits show");
    }
  }

  /** Updates the given columns of one row; returns its name (org) or public id (key). */
  private static String set(Pool pool, String table, String where, String id, Args args, boolean org) {
    List<String> assignments = new ArrayList<>();
    List<Object> values = new ArrayList<>();
    values.add(id);
    if (args.option("plan") != null) {
      if (!org) {
        throw new CliException("--plan applies to organizations only.");
      }
      values.add(args.option("plan"));
      assignments.add("plan_id = $" + values.size());
    }
    for (String column : COLUMNS) {
      String raw = args.option(column);
      if (raw == null) {
        continue;
      }
      values.add(value(column, raw));
      assignments.add(column + " = $" + values.size() + (column.equals("concurrency") ? "::int" : "::bigint"));
    }
    if (assignments.isEmpty()) {
      throw new CliException("Nothing to set: give at least one of --plan, --" + String.join(", --", COLUMNS) + ".");
    }
    String sql = "UPDATE " + table + " SET " + String.join(", ", assignments) + " WHERE " + where
        + " RETURNING " + (org ? "name" : "public_id");
    RowSet<Row> rows;
    try {
      rows = pool.preparedQuery(sql).execute(Tuple.from(values)).await();
    } catch (PgException e) {
      throw new CliException("23503".equals(e.getSqlState()) ? "Unknown plan '" + args.option("plan") + "'."
          : e.getMessage());
    }
    if (rows.size() == 0) {
      throw new CliException("No " + (org ? "organization" : "key") + " '" + id + "'.");
    }
    return rows.iterator().next().getString(0);
  }

  private static Long value(String column, String raw) {
    if (raw.equals("none")) {
      return null;
    }
    try {
      return WholeNumber.parse(raw, 1, column.equals("concurrency") ? Integer.MAX_VALUE : Long.MAX_VALUE);
    } catch (IllegalArgumentException e) {
      throw new CliException("--" + column + " must be a whole number >= 1 or 'none' (it " + e.getMessage() + ").");
    }
  }

  private static void show(Pool pool, String org, String key) {
    if (org != null) {
      RowSet<Row> rows = pool.preparedQuery(ORG_SHOW).execute(Tuple.of(org)).await();
      if (rows.size() == 0) {
        throw new CliException("No organization '" + org + "'.");
      }
      Row r = rows.iterator().next();
      System.out.println("Organization " + r.getLong("id") + " '" + r.getString("name") + "', plan "
          + r.getString("plan_id"));
      System.out.printf("%-12s %12s %12s %12s%n", "LIMIT", "PLAN", "OVERRIDE", "EFFECTIVE");
      for (String c : COLUMNS) {
        Object plan = r.getValue("p_" + c);
        Object own = r.getValue(c);
        System.out.printf("%-12s %12s %12s %12s%n", c, text(plan), text(own), text(own != null ? own : plan));
      }
    } else {
      RowSet<Row> rows = pool.preparedQuery(KEY_SHOW).execute(Tuple.of(key)).await();
      if (rows.size() == 0) {
        throw new CliException("No key '" + key + "'.");
      }
      Row r = rows.iterator().next();
      System.out.println("Key " + r.getString("public_id") + " (narrows its organization's limits)");
      for (String c : COLUMNS) {
        System.out.printf("%-12s %12s%n", c, text(r.getValue(c)));
      }
    }
  }

  private static String text(Object v) {
    return v == null ? "-" : v.toString();
  }
}
