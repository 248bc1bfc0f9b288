package ai.gpt.api.admin;

import static ai.gpt.api.admin.AdminParams.noSuch;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.Json;
import ai.gpt.api.billing.Money;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;

/** The model catalog: listing every model, and changing prices, token limits and whether a model is served. */
final class AdminModelRoutes {
  private static final String MODEL_COLUMNS = "id, display_name, kind, input_price_micros_per_m,"
      + " output_price_micros_per_m, default_max_tokens, max_max_tokens, context_length, active";
  private static final String MODELS = "SELECT " + MODEL_COLUMNS + " FROM models ORDER BY id";
  private static final String MODEL_FOR_UPDATE = "SELECT " + MODEL_COLUMNS + " FROM models WHERE id = $1 FOR UPDATE";

  private final Pool pool;

  AdminModelRoutes(Pool pool) {
    this.pool = pool;
  }

  void mount(Router api) {
    api.get("/admin/models").handler(this::models);
    api.patch("/admin/models/:modelId").handler(this::patchModel);
  }

  private void models(RoutingContext ctx) {
    pool.query(MODELS).execute().map(rows -> {
      JsonArray data = new JsonArray();
      rows.forEach(r -> data.add(model(r)));
      return new JsonObject().put("object", "list").put("data", data);
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /**
   * {input_price_usd_per_m?, output_price_usd_per_m?, active?, default_max_tokens?, max_max_tokens?}: prices are
   * exact decimal strings, stored as integer micro-USD per 1M tokens. Gateways reload the catalog via NOTIFY.
   */
  private void patchModel(RoutingContext ctx) {
    String modelId = ctx.pathParam("modelId");
    long adminId = ApiAuth.of(ctx).userId();
    JsonObject body = Json.body(ctx);
    List<String> assignments = new ArrayList<>();
    List<Object> values = new ArrayList<>();
    values.add(modelId);
    for (String field : body.fieldNames()) {
      switch (field) {
        case "input_price_usd_per_m", "output_price_usd_per_m" -> {
          values.add(price(body, field));
          assignments.add(field.replace("_usd_per_m", "_micros_per_m") + " = $" + values.size() + "::bigint");
        }
        case "active" -> {
          if (!(body.getValue(field) instanceof Boolean b)) {
            throw ApiError.invalidRequest("'active' must be true or false.", field);
          }
          values.add(b);
          assignments.add("active = $" + values.size() + "::boolean");
        }
        case "default_max_tokens", "max_max_tokens" -> {
          values.add((int) Json.wholeNumber(body.getValue(field), field, 1, Integer.MAX_VALUE));
          assignments.add(field + " = $" + values.size() + "::int");
        }
        default -> throw ApiError.invalidRequest("Unknown field '" + field + "'; give input_price_usd_per_m,"
            + " output_price_usd_per_m, active, default_max_tokens and/or max_max_tokens.", field);
      }
    }
    if (assignments.isEmpty()) {
      throw ApiError.invalidRequest("Nothing to change.", null);
    }
    String sql = "UPDATE models SET " + String.join(", ", assignments) + " WHERE id = $1 RETURNING " + MODEL_COLUMNS;
    pool.withTransaction(tx -> tx.preparedQuery(MODEL_FOR_UPDATE).execute(Tuple.of(modelId)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.failedFuture(noSuch("model"));
      }
      JsonObject before = model(rows.iterator().next());
      return tx.preparedQuery(sql).execute(Tuple.from(values)).compose(updated -> {
        JsonObject after = model(updated.iterator().next());
        return AdminAudit.record(tx, adminId, "model.update", "model", modelId,
            new JsonObject().put("changes", body).put("before", before).put("after", after)).map(after);
      });
    })).recover(err -> {
      if (err instanceof PgException pg && "23514".equals(pg.getSqlState())) {
        return Future.failedFuture(ApiError.invalidRequest(
            "max_max_tokens must be at least default_max_tokens.", "max_max_tokens"));
      }
      return Future.failedFuture(err);
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private static long price(JsonObject body, String field) {
    long micros = Json.usd(body, field, false);
    if (micros > Money.MAX_PRICE_MICROS_PER_M) {
      throw Json.invalidAmount("'" + field + "' must be at most " + Money.decimalUsd(Money.MAX_PRICE_MICROS_PER_M)
          + " USD per 1M tokens.", field);
    }
    return micros;
  }


  private static JsonObject model(Row r) {
    long in = r.getLong("input_price_micros_per_m");
    long out = r.getLong("output_price_micros_per_m");
    return new JsonObject()
        .put("id", r.getString("id"))
        .put("display_name", r.getString("display_name"))
        .put("kind", r.getString("kind"))
        .put("input_price_micros_per_m", in)
        .put("output_price_micros_per_m", out)
        .put("input_price_usd_per_m", Money.decimalUsd(in))
        .put("output_price_usd_per_m", Money.decimalUsd(out))
        .put("default_max_tokens", r.getInteger("default_max_tokens"))
        .put("max_max_tokens", r.getInteger("max_max_tokens"))
        .put("context_length", r.getInteger("context_length"))
        .put("active", r.getBoolean("active"));
  }
}
