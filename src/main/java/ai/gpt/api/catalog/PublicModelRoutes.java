package ai.gpt.api.catalog;

import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.billing.Money;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/**
 * {@code GET /api/models}: the models on sale and their prices, for anyone (the landing page shows them before
 * sign-in). Unlike {@code /v1/models} it needs no key and lists every active model, with prices per 1M tokens as
 * decimal USD strings next to their integer micro-USD.
 */
public final class PublicModelRoutes implements ApiRoutes {
  static final String OWNER = "gpt-api";
  private final Catalog catalog;
  /** The last answer and the catalogue snapshot it was made from: rebuilt only when a reload changed it. */
  private volatile Cached cached = new Cached(List.of(), null);

  private record Cached(List<ModelInfo> models, Buffer body) {}

  public PublicModelRoutes(Catalog catalog) {
    this.catalog = catalog;
  }

  @Override
  public void mountPublic(Router api) {
    api.get("/models").handler(this::list);
  }

  @Override
  public void mountSignedIn(Router api) {}

  private void list(RoutingContext ctx) {
    List<ModelInfo> models = catalog.activeModels();
    Cached last = cached;
    if (last.body() == null || !last.models().equals(models)) {
      last = new Cached(models, toJson(models).toBuffer());
      cached = last;
    }
    ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        // Public and the same for everyone: browsers and proxies may keep it a minute (a price change shows then).
        .putHeader(HttpHeaders.CACHE_CONTROL, "public, max-age=60")
        .end(last.body());
  }

  static JsonObject toJson(List<ModelInfo> models) {
    JsonArray data = new JsonArray();
    for (ModelInfo m : models) {
      data.add(new JsonObject()
          .put("id", m.id())
          .put("object", "model")
          .put("owned_by", OWNER)
          .put("name", m.displayName())
          .put("type", m.kind() == ModelInfo.Kind.EMBEDDING ? "embedding" : "chat")
          .put("context_length", m.contextLength())
          .put("pricing", new JsonObject()
              .put("input_per_1m_tokens", Money.decimalUsd(m.inputPriceMicrosPerM()))
              .put("input_per_1m_tokens_micros", m.inputPriceMicrosPerM())
              .put("output_per_1m_tokens", Money.decimalUsd(m.outputPriceMicrosPerM()))
              .put("output_per_1m_tokens_micros", m.outputPriceMicrosPerM())));
    }
    return new JsonObject().put("object", "list").put("data", data);
  }
}
