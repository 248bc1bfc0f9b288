package ai.gpt.api.admin;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.Json;
import ai.gpt.api.billing.plans.PlanCatalog;
import ai.gpt.api.billing.plans.PlanChanges;
import ai.gpt.api.billing.plans.PlanEdits;
import ai.gpt.api.error.ApiError;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import java.util.function.Supplier;

/** Plans: every plan with how many organizations are on it, creating one, and changing one. */
final class AdminPlanRoutes {
  private static final String PLANS = """
      SELECT p.id, (SELECT count(*) FROM organizations o WHERE o.plan_id = p.id) AS orgs,
             (SELECT count(*) FROM stripe_subscriptions s WHERE s.plan_id = p.id
                 AND s.status NOT IN ('canceled', 'incomplete_expired')) AS subscriptions
        FROM plans p""";

  private final Pool pool;
  private final PlanCatalog catalog;
  private final PlanEdits edits;

  AdminPlanRoutes(Pool pool, PlanEdits edits) {
    this.pool = pool;
    this.catalog = new PlanCatalog(pool);
    this.edits = edits;
  }

  void mount(Router api) {
    api.get("/admin/plans").handler(this::plans);
    api.post("/admin/plans").handler(this::create);
    api.patch("/admin/plans/:planId").handler(this::update);
  }

  private void plans(RoutingContext ctx) {
    catalog.all().compose(plans -> pool.query(PLANS).execute().map(counts -> {
      JsonObject byId = new JsonObject();
      for (Row r : counts) {
        byId.put(r.getString("id"), new JsonObject().put("organizations", r.getLong("orgs"))
            .put("live_subscriptions", r.getLong("subscriptions")));
      }
      JsonArray data = new JsonArray();
      plans.forEach(p -> data.add(p.toAdminJson().mergeIn(byId.getJsonObject(p.id(), new JsonObject()))));
      return new JsonObject().put("object", "list").put("data", data);
    })).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /** {id, name, description?, monthly_price_usd?, included_credit_usd?, for_sale?, stripe_price_id?, limits?}. */
  private void create(RoutingContext ctx) {
    JsonObject body = Json.body(ctx);
    String id = checked(() -> PlanChanges.checkId(body.getValue("id") instanceof String s ? s : null));
    edits.create(ApiAuth.of(ctx).userId(), id, changes(body, true))
        .onSuccess(plan -> Json.send(ctx, 201, plan.toAdminJson())).onFailure(ctx::fail);
  }

  /** Any of the fields of {@link #create} but id; a limit set to null is unlimited. */
  private void update(RoutingContext ctx) {
    String id = ctx.pathParam("planId");
    edits.update(ApiAuth.of(ctx).userId(), id, changes(Json.body(ctx), false))
        .onSuccess(plan -> Json.send(ctx, 200, plan.toAdminJson())).onFailure(ctx::fail);
  }

  /** The body's fields, each checked; {@code limits} is an object of rpm..concurrency, as for organizations. */
  private static PlanChanges changes(JsonObject body, boolean withId) {
    PlanChanges changes = new PlanChanges();
    for (String field : body.fieldNames()) {
      if (withId && field.equals("id")) {
        continue;
      }
      if (!field.equals("limits")) {
        checked(() -> changes.json(field, body.getValue(field)));
        continue;
      }
      if (!(body.getValue(field) instanceof JsonObject limits)) {
        throw ApiError.invalidRequest("'limits' must be an object such as {\"rpm\": 60, \"tpd\": null}.", field);
      }
      for (String name : limits.fieldNames()) {
        if (!PlanChanges.LIMITS.contains(name)) {
          throw ApiError.invalidRequest("Unknown limit '" + name + "'; limits are "
              + String.join(", ", PlanChanges.LIMITS) + ".", "limits." + name);
        }
        checked(() -> changes.json(name, limits.getValue(name)));
      }
    }
    return changes;
  }

  /** A refused field as a 400 naming it ({@code invalid_amount} for money, as everywhere). */
  private static <T> T checked(Supplier<T> read) {
    try {
      return read.get();
    } catch (PlanChanges.Invalid e) {
      String param = PlanChanges.LIMITS.contains(e.field) ? "limits." + e.field : e.field;
      String message = "'" + param + "' " + e.getMessage() + ".";
      throw e.money ? Json.invalidAmount(message, param) : ApiError.invalidRequest(message, param);
    }
  }
}
