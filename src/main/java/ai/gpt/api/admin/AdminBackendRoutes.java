package ai.gpt.api.admin;

import static ai.gpt.api.admin.AdminParams.noSuch;
import static ai.gpt.api.admin.AdminParams.pathId;
import static ai.gpt.api.admin.AdminParams.positiveInt;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.Json;
import ai.gpt.api.catalog.BackendUrl;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import java.util.function.Function;

/**
 * Listing, adding, draining, enabling and removing inference backends. Every gateway picks a change up through the
 * catalog NOTIFY trigger, as it does for the CLI.
 */
final class AdminBackendRoutes {
  // The statements are the CLI's (ai.gpt.api.cli.BackendCommands).
  private static final String BACKEND_INSERT = "INSERT INTO backends (model_id, base_url, api_key, slots, weight)"
      + " VALUES ($1, $2, $3, $4, $5) RETURNING id";
  private static final String BACKEND_SET_STATE = "UPDATE backends SET state = $2 WHERE id = $1";
  private static final String BACKEND_DELETE = "DELETE FROM backends WHERE id = $1";
  private static final String BACKEND_FOR_UPDATE = "SELECT id, model_id, base_url, slots, weight, state FROM backends"
      + " WHERE id = $1 FOR UPDATE";
  private static final String MODEL_EXISTS = "SELECT 1 FROM models WHERE id = $1";

  private final Pool pool;
  private final AdminBackendView view;

  AdminBackendRoutes(Pool pool, AdminBackendView view) {
    this.pool = pool;
    this.view = view;
  }

  void mount(Router api) {
    api.get("/admin/backends").handler(this::backends);
    api.post("/admin/backends").handler(this::addBackend);
    api.post("/admin/backends/:backendId/drain").handler(ctx -> setBackendState(ctx, "draining"));
    api.post("/admin/backends/:backendId/enable").handler(ctx -> setBackendState(ctx, "enabled"));
    api.delete("/admin/backends/:backendId").handler(this::removeBackend);
  }

  private void backends(RoutingContext ctx) {
    AdminBackendView.rows(pool).map(rows -> new JsonObject().put("object", "list").put("data", view.list(rows)))
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private void addBackend(RoutingContext ctx) {
    long adminId = ApiAuth.of(ctx).userId();
    JsonObject body = Json.body(ctx);
    for (String field : body.fieldNames()) {
      if (!List.of("model", "url", "slots", "weight", "api_key").contains(field)) {
        throw ApiError.invalidRequest("Unknown field '" + field + "'; give model, url, slots, weight, api_key.",
            field);
      }
    }
    String model = Json.string(body, "model", 200);
    String url = Json.string(body, "url", 2000);
    String problem = BackendUrl.problem(url, "'url'");
    if (problem != null) {
      throw ApiError.invalidRequest(problem, "url");
    }
    int slots = positiveInt(body, "slots", 4);
    int weight = positiveInt(body, "weight", 1);
    String apiKey = Json.optionalString(body, "api_key", 1000);
    pool.withTransaction(tx -> tx.preparedQuery(MODEL_EXISTS).execute(Tuple.of(model)).compose(found -> {
      if (found.size() == 0) {
        return Future.failedFuture(ApiError.invalidRequest("Unknown model '" + model + "'.", "model"));
      }
      return tx.preparedQuery(BACKEND_INSERT).execute(Tuple.of(model, url, apiKey, slots, weight));
    }).compose(rows -> {
      long id = rows.iterator().next().getLong(0);
      return AdminAudit.record(tx, adminId, "backend.add", "backend", id, new JsonObject().put("model", model)
          .put("url", url).put("slots", slots).put("weight", weight).put("api_key", apiKey != null)).map(id);
    })).recover(err -> {
      if (err instanceof PgException pg && "23505".equals(pg.getSqlState())) {
        return Future.failedFuture(ApiError.of(409, "conflict",
            "Model '" + model + "' already has a backend at " + url + ".", "url"));
      }
      return Future.failedFuture(err);
    }).compose(id -> AdminBackendView.rows(pool).map(rows -> {
      for (Row r : rows) {
        if (r.getLong("id") == id) {
          // This gateway may not have loaded the new backend yet, so no live health is shown.
          return AdminBackendView.json(r, null);
        }
      }
      throw new IllegalStateException("backend " + id + " vanished");
    })).onSuccess(json -> Json.send(ctx, 201, json)).onFailure(ctx::fail);
  }

  private void setBackendState(RoutingContext ctx, String state) {
    long id = pathId(ctx, "backendId", "backend");
    long adminId = ApiAuth.of(ctx).userId();
    backendChange(id, tx -> tx.preparedQuery(BACKEND_SET_STATE).execute(Tuple.of(id, state)).mapEmpty(),
        state.equals("draining") ? "backend.drain" : "backend.enable", adminId, state)
        .onSuccess(before -> Json.send(ctx, 200, before.put("state", state).put("object", "admin.backend")))
        .onFailure(ctx::fail);
  }

  private void removeBackend(RoutingContext ctx) {
    long id = pathId(ctx, "backendId", "backend");
    long adminId = ApiAuth.of(ctx).userId();
    backendChange(id, tx -> tx.preparedQuery(BACKEND_DELETE).execute(Tuple.of(id)).mapEmpty(), "backend.remove",
        adminId, null)
        .onSuccess(before -> Json.send(ctx, 200, new JsonObject().put("object", "admin.backend").put("id", id)
            .put("deleted", true)))
        .onFailure(ctx::fail);
  }

  /** Locks the backend row, applies the change and audits it; the result is the row as it was. */
  private Future<JsonObject> backendChange(long id, Function<SqlConnection, Future<Void>> change, String action,
      long adminId, String newState) {
    return pool.withTransaction(tx -> tx.preparedQuery(BACKEND_FOR_UPDATE).execute(Tuple.of(id)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.failedFuture(noSuch("backend"));
      }
      Row r = rows.iterator().next();
      JsonObject before = new JsonObject().put("id", id).put("model", r.getString("model_id"))
          .put("url", r.getString("base_url")).put("slots", r.getInteger("slots"))
          .put("weight", r.getInteger("weight")).put("state", r.getString("state"));
      JsonObject details = new JsonObject().put("before", before.copy());
      if (newState != null) {
        details.put("state", newState);
      }
      return change.apply(tx).compose(v -> AdminAudit.record(tx, adminId, action, "backend", id, details))
          .map(before);
    }));
  }
}
