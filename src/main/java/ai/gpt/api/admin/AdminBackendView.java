package ai.gpt.api.admin;

import static ai.gpt.api.admin.AdminJson.time;

import ai.gpt.api.routing.Backend;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.routing.ModelPool;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import java.util.HashMap;
import java.util.Map;

/**
 * The backends table as the admin API shows it, with this gateway's live health and in-flight count where it has
 * the backend loaded. Shared by the backend routes and the monitor.
 */
final class AdminBackendView {
  // The statement is the CLI's (ai.gpt.api.cli.BackendCommands).
  private static final String BACKENDS = "SELECT id, model_id, base_url, slots, weight, state,"
      + " api_key IS NOT NULL AS auth, created_at FROM backends ORDER BY model_id, id";

  private final BackendRegistry registry;

  /** {@code registry} is this gateway's live backend view; null reads the table only. */
  AdminBackendView(BackendRegistry registry) {
    this.registry = registry;
  }

  /** Every backend row, by model then id. */
  static Future<RowSet<Row>> rows(SqlClient client) {
    return client.query(BACKENDS).execute();
  }

  /** The rows of {@link #rows} with live health where this gateway has it. */
  JsonArray list(RowSet<Row> rows) {
    Map<Long, Backend> live = live();
    JsonArray data = new JsonArray();
    for (Row r : rows) {
      data.add(json(r, live.get(r.getLong("id"))));
    }
    return data;
  }

  private Map<Long, Backend> live() {
    Map<Long, Backend> live = new HashMap<>();
    if (registry != null) {
      for (ModelPool p : registry.pools()) {
        for (Backend b : p.backends()) {
          live.put(b.id(), b);
        }
      }
    }
    return live;
  }

  /** One row of {@link #rows}; {@code live} null gives null health and in-flight. */
  static JsonObject json(Row r, Backend live) {
    JsonObject json = new JsonObject()
        .put("object", "admin.backend")
        .put("id", r.getLong("id"))
        .put("model", r.getString("model_id"))
        .put("url", r.getString("base_url"))
        .put("slots", r.getInteger("slots"))
        .put("weight", r.getInteger("weight"))
        .put("state", r.getString("state"))
        .put("api_key", r.getBoolean("auth"))
        .put("created_at", time(r.getOffsetDateTime("created_at")));
    if (live != null) {
      json.put("health", live.health().name().toLowerCase()).put("in_flight", live.inFlightSnapshot());
    } else {
      json.put("health", null).put("in_flight", null);
    }
    return json;
  }
}
