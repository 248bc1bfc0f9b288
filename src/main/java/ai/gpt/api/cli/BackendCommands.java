package ai.gpt.api.cli;

import ai.gpt.api.catalog.BackendUrl;
import ai.gpt.api.input.WholeNumber;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;

/**
 * {@code backend add | list | drain | enable | remove}. Running gateways pick changes up within milliseconds
 * through the catalog NOTIFY trigger.
 */
final class BackendCommands {
  private static final String INSERT = """
      INSERT INTO backends (model_id, base_url, api_key, slots, weight) VALUES ($1, $2, $3, $4, $5) RETURNING id""";
  private static final String LIST = "SELECT id, model_id, base_url, slots, weight, state, api_key IS NOT NULL AS auth FROM backends ORDER BY model_id, id";
  private static final String SET_STATE = "UPDATE backends SET state = $2 WHERE id = $1";
  private static final String DELETE = "DELETE FROM backends WHERE id = $1";
  private static final String MODEL_EXISTS = "SELECT 1 FROM models WHERE id = $1";

  private BackendCommands() {}

  static void run(Pool pool, Args args) {
    String action = args.word(1, "backend action (add, list, drain, enable, remove)");
    switch (action) {
      case "add" -> add(pool, args);
      case "list" -> list(pool, args);
      case "drain" -> update(pool, args, SET_STATE, "draining", "Draining");
      case "enable" -> update(pool, args, SET_STATE, "enabled", "Enabled");
      case "remove" -> update(pool, args, DELETE, null, "Removed");
      default -> throw new CliException("Unknown backend action '" + action + "'.");
    }
  }

  /** Adds a backend; returns its id. Shared with the BACKENDS start-up registration. */
  static long add(Pool pool, String model, String url, String apiKey, int slots, int weight) {
    if (pool.preparedQuery(MODEL_EXISTS).execute(Tuple.of(model)).await().size() == 0) {
      throw new CliException("Unknown model '" + model + "'.");
    }
    String problem = BackendUrl.problem(url, "--url");
    if (problem != null) {
      throw new CliException(problem);
    }
    try {
      return pool.preparedQuery(INSERT).execute(Tuple.of(model, url, apiKey, slots, weight)).await()
          .iterator().next().getLong(0);
    } catch (PgException e) {
      if ("23505".equals(e.getSqlState())) {
        throw new CliException("Model '" + model + "' already has a backend at " + url + ".");
      }
      throw e;
    }
  }

  private static void add(Pool pool, Args args) {
    args.allowOnly("model", "url", "api-key", "slots", "weight");
    Integer slots = args.positiveInt("slots");
    Integer weight = args.positiveInt("weight");
    long id = add(pool, args.required("model"), args.required("url"), args.option("api-key"),
        slots == null ? 4 : slots, weight == null ? 1 : weight);
    System.out.println("Added backend " + id);
  }

  private static void list(Pool pool, Args args) {
    args.allowOnly();
    RowSet<Row> rows = pool.query(LIST).execute().await();
    System.out.printf("%-6s %-10s %-40s %5s %6s %-9s %s%n", "ID", "MODEL", "URL", "SLOTS", "WEIGHT", "STATE", "AUTH");
    for (Row r : rows) {
      System.out.printf("%-6d %-10s %-40s %5d %6d %-9s %s%n", r.getLong("id"), r.getString("model_id"),
          r.getString("base_url"), r.getInteger("slots"), r.getInteger("weight"), r.getString("state"),
          r.getBoolean("auth") ? "api-key" : "-");
    }
  }

  private static void update(Pool pool, Args args, String sql, String state, String verb) {
    args.allowOnly();
    String raw = args.word(2, "backend id");
    long id;
    try {
      id = WholeNumber.parse(raw, 1, Long.MAX_VALUE);
    } catch (IllegalArgumentException e) {
      throw new CliException("The backend id " + e.getMessage() + ".");
    }
    Tuple params = state == null ? Tuple.of(id) : Tuple.of(id, state);
    if (pool.preparedQuery(sql).execute(params).await().rowCount() == 0) {
      throw new CliException("No backend with id " + id + ".");
    }
    System.out.println(verb + " backend " + id);
  }
}
