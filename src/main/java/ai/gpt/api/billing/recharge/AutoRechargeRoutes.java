package ai.gpt.api.billing.recharge;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.Json;
import ai.gpt.api.billing.stripe.BillingRoutes;
import ai.gpt.api.config.BillingSettings;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.orgs.Memberships;
import ai.gpt.api.orgs.Role;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Set;

/**
 * {@code GET /api/orgs/{id}/billing/auto-recharge} (any member) and {@code PUT} (admin or owner). Membership is
 * checked first, so a non-member gets 404 whether billing is on or off.
 */
final class AutoRechargeRoutes {
  private static final String PATH = "/orgs/:orgId/billing/auto-recharge";
  private static final Set<String> FIELDS = Set.of("enabled", "threshold_usd", "amount_usd");

  private final BillingSettings settings;
  private final Memberships memberships;
  private final AutoRechargeStore store;
  private final WatchCache cache;

  AutoRechargeRoutes(BillingSettings settings, Memberships memberships, AutoRechargeStore store, WatchCache cache) {
    this.settings = settings;
    this.memberships = memberships;
    this.store = store;
    this.cache = cache;
  }

  void mount(Router api) {
    api.get(PATH).handler(this::get);
    api.put(PATH).handler(this::put);
  }

  private void get(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.MEMBER).compose(role -> {
      BillingRoutes.requireEnabled(settings);
      return store.describe(orgId, settings.autoRechargeMaxPerDay());
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /** {enabled, threshold_usd, amount_usd}, all required: the whole settings, replaced. */
  private void put(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN).compose(role -> {
      BillingRoutes.requireEnabled(settings);
      RechargeSettings wanted = parse(Json.body(ctx));
      return store.write(orgId, wanted);
    }).compose(stored -> {
      if (!stored) {
        throw ApiError.of(409, "no_payment_method", "Auto-recharge charges the card saved by a top-up, and this"
            + " organization has none yet: make a top-up through Checkout first, then turn auto-recharge on.",
            "enabled");
      }
      cache.forget(orgId);
      return store.describe(orgId, settings.autoRechargeMaxPerDay());
    }).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private RechargeSettings parse(JsonObject body) {
    for (String field : body.fieldNames()) {
      if (!FIELDS.contains(field)) {
        throw ApiError.invalidRequest("Unknown field '" + field + "'; expected enabled, threshold_usd and"
            + " amount_usd.", field);
      }
    }
    if (!(body.getValue("enabled") instanceof Boolean enabled)) {
      throw ApiError.invalidRequest("'enabled' is required and must be true or false.", "enabled");
    }
    long threshold = Json.usd(body, "threshold_usd", false);
    long amount = BillingRoutes.topUpUsd(body, "amount_usd", settings);
    return new RechargeSettings(enabled, threshold, amount);
  }
}
