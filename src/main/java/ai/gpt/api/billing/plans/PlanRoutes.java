package ai.gpt.api.billing.plans;

import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/** {@code GET /api/plans}: public, for the web app's pricing page. */
public final class PlanRoutes implements ApiRoutes {
  private final PlanCatalog catalog;

  public PlanRoutes(PlanCatalog catalog) {
    this.catalog = catalog;
  }

  @Override
  public void mountPublic(Router api) {
    api.get("/plans").handler(this::plans);
  }

  /** Nothing here needs a user: prices and limits are what a visitor compares before signing up. */
  @Override
  public void mountSignedIn(Router api) {}

  /** The plans for sale, cheapest first, and the free plan every organization starts on. */
  private void plans(RoutingContext ctx) {
    catalog.forSale().compose(plans -> catalog.find(Plan.DEFAULT).map(free -> {
      JsonArray data = new JsonArray();
      plans.forEach(p -> data.add(p.toJson()));
      return new JsonObject().put("object", "list").put("data", data)
          .put("free_plan", free == null ? null : free.toJson());
    })).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }
}
