package ai.gpt.api.proxy;

import ai.gpt.api.auth.ApiKey;
import ai.gpt.api.auth.AuthHandler;
import ai.gpt.api.catalog.Catalog;
import ai.gpt.api.catalog.ModelInfo;
import ai.gpt.api.error.ApiError;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** {@code GET /v1/models} and {@code GET /v1/models/{id}}: the models this key may use, in OpenAI's shape. */
public final class ModelsHandler {
  static final String OWNER = "gpt-api";
  private final Catalog catalog;

  public ModelsHandler(Catalog catalog) {
    this.catalog = catalog;
  }

  public void list(RoutingContext ctx) {
    ApiKey key = AuthHandler.key(ctx);
    JsonArray data = new JsonArray();
    for (ModelInfo m : catalog.activeModels()) {
      if (key.mayUse(m.id())) {
        data.add(toJson(m));
      }
    }
    send(ctx, new JsonObject().put("object", "list").put("data", data));
  }

  public void get(RoutingContext ctx) {
    ApiKey key = AuthHandler.key(ctx);
    String id = ctx.pathParam("id");
    ModelInfo m = catalog.model(id);
    if (m == null || !m.active() || !key.mayUse(id)) {
      // A model outside the key's allow-list is reported as missing, as OpenAI does for unshared models.
      throw ApiError.modelNotFound(id);
    }
    send(ctx, toJson(m));
  }

  private static JsonObject toJson(ModelInfo m) {
    return new JsonObject()
        .put("id", m.id())
        .put("object", "model")
        .put("created", m.createdEpochSeconds())
        .put("owned_by", OWNER);
  }

  private static void send(RoutingContext ctx, JsonObject body) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.toBuffer());
  }
}
