package ai.gpt.api.webhooks;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.config.WebhookSettings;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.orgs.Memberships;
import ai.gpt.api.orgs.Role;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code /api/orgs/:orgId/webhooks}: an organization's webhook endpoints, their secrets (shown once, at create and
 * rotation), delivery log, resends and test events. Admins and owners only. Membership is checked first, before
 * the body is read or an endpoint looked up, so other tenants' ids reveal nothing (404 like unknown ones).
 */
public final class WebhookRoutes implements ApiRoutes {
  static final int MAX_DESCRIPTION = 500;
  private static final long MAX_DELIVERIES = 100;
  private static final Set<String> CREATE_FIELDS = Set.of("url", "events", "description");
  private static final Set<String> UPDATE_FIELDS = Set.of("url", "events", "description", "enabled");
  private static final Set<String> STATUSES = Set.of("pending", "delivered", "failed");

  private final EndpointStore store;
  private final Memberships memberships;
  private final Resolver resolver;
  private final WebhookSettings settings;

  public WebhookRoutes(EndpointStore store, Memberships memberships, Resolver resolver, WebhookSettings settings) {
    this.store = store;
    this.memberships = memberships;
    this.resolver = resolver;
    this.settings = settings;
  }

  @Override
  public void mountSignedIn(Router api) {
    String base = "/orgs/:orgId/webhooks";
    // The types an endpoint may subscribe to, for the web app's form (no organization: the list is the same for all).
    api.get("/webhooks/event-types").handler(ctx -> Json.send(ctx, 200, new JsonObject().put("object", "list")
        .put("data", new JsonArray(EventTypes.ALL))));
    api.post(base).handler(this::create);
    api.get(base).handler(ctx -> asAdmin(ctx, orgId -> store.list(orgId)
        .map(data -> new JsonObject().put("object", "list").put("data", data)), 200));
    api.get(base + "/:endpointId").handler(ctx -> asAdmin(ctx, orgId -> store.get(orgId, endpointId(ctx)), 200));
    api.patch(base + "/:endpointId").handler(this::update);
    api.delete(base + "/:endpointId").handler(this::delete);
    api.post(base + "/:endpointId/rotate-secret").handler(ctx -> asAdmin(ctx,
        orgId -> store.rotate(orgId, endpointId(ctx), settings.rotationGraceMs()), 200));
    api.post(base + "/:endpointId/test").handler(ctx -> asAdmin(ctx,
        orgId -> store.test(orgId, endpointId(ctx), settings.giveUpAfterMs()), 202));
    api.get(base + "/:endpointId/deliveries").handler(this::deliveries);
    api.post(base + "/:endpointId/deliveries/:deliveryId/resend").handler(ctx -> asAdmin(ctx,
        orgId -> store.resend(orgId, endpointId(ctx), ctx.pathParam("deliveryId"), settings.giveUpAfterMs()), 202));
  }

  /** Checks the caller is an admin of the path's organization, then answers {@code action}'s JSON. */
  private void asAdmin(RoutingContext ctx, Function<Long, Future<JsonObject>> action, int status) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN)
        .compose(role -> action.apply(orgId))
        .onSuccess(json -> Json.send(ctx, status, json)).onFailure(ctx::fail);
  }

  private void create(RoutingContext ctx) {
    asAdmin(ctx, orgId -> {
      JsonObject body = fields(ctx, CREATE_FIELDS);
      String url = Json.string(body, "url", Destination.MAX_URL).strip();
      String[] events = EventTypes.parse(body.getValue("events"));
      String description = description(body);
      return checkedUrl(url).compose(ok -> store.create(orgId, url, events, description == null ? "" : description));
    }, 201);
  }

  private void update(RoutingContext ctx) {
    asAdmin(ctx, orgId -> {
      long id = endpointId(ctx);
      JsonObject body = fields(ctx, UPDATE_FIELDS);
      List<String> assignments = new ArrayList<>();
      List<Object> values = new ArrayList<>();
      Future<Void> urlOk = Future.succeededFuture();
      Boolean enabled = null;
      if (body.containsKey("url")) {
        String url = Json.string(body, "url", Destination.MAX_URL).strip();
        urlOk = checkedUrl(url);
        values.add(url);
        assignments.add("url = $" + (values.size() + 2));
      }
      if (body.containsKey("events")) {
        values.add(EventTypes.parse(body.getValue("events")));
        assignments.add("events = $" + (values.size() + 2));
      }
      if (body.containsKey("description")) {
        String description = description(body);
        values.add(description == null ? "" : description);
        assignments.add("description = $" + (values.size() + 2));
      }
      if (body.containsKey("enabled")) {
        if (!(body.getValue("enabled") instanceof Boolean given)) {
          throw ApiError.invalidRequest("'enabled' must be true or false.", "enabled");
        }
        enabled = given;
        values.add(enabled);
        // Enabling starts a fresh failure streak; either way a person decided, so no automatic reason remains.
        assignments.add("enabled = $" + (values.size() + 2) + ", disabled_reason = NULL"
            + (enabled ? ", failing_since = NULL" : ""));
      }
      if (assignments.isEmpty()) {
        throw ApiError.invalidRequest("Give at least one of 'url', 'events', 'description' or 'enabled'.", null);
      }
      Boolean change = enabled;
      return urlOk.compose(ok -> store.update(orgId, id, assignments, values, change));
    }, 200);
  }

  private void delete(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN)
        .compose(role -> store.delete(orgId, endpointId(ctx)))
        .onSuccess(v -> ctx.response().setStatusCode(204).end()).onFailure(ctx::fail);
  }

  private void deliveries(RoutingContext ctx) {
    asAdmin(ctx, orgId -> {
      String status = ctx.queryParam("status").isEmpty() ? null : ctx.queryParam("status").get(0);
      if (status != null && !STATUSES.contains(status)) {
        throw ApiError.invalidRequest("'status' must be pending, delivered or failed.", "status");
      }
      long limit = Json.queryNumber(ctx, "limit", 20, MAX_DELIVERIES);
      return store.deliveries(orgId, endpointId(ctx), status, limit)
          .map(data -> new JsonObject().put("object", "list").put("data", data));
    }, 200);
  }

  /** The URL's form, then what its host resolves to now (the check that matters runs again at every delivery). */
  private Future<Void> checkedUrl(String url) {
    Destination destination;
    try {
      destination = Destination.parse(url, settings.allowLoopback());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(ApiError.invalidRequest("'url' " + e.getMessage() + ".", "url"));
    }
    return resolver.address(destination).<Void>mapEmpty().recover(err -> Future.failedFuture(
        err instanceof Resolver.Refused ? ApiError.invalidRequest("'url' cannot be used: " + err.getMessage() + ".",
            "url") : err));
  }

  /** The body, refusing fields this route does not know (a typo must not be silently ignored). */
  private static JsonObject fields(RoutingContext ctx, Set<String> known) {
    JsonObject body = Json.body(ctx);
    for (String name : body.fieldNames()) {
      if (!known.contains(name)) {
        throw ApiError.invalidRequest("Unknown field '" + (name.length() > 60 ? name.substring(0, 60) : name)
            + "'; this route takes " + known + ".", name.length() > 60 ? null : name);
      }
    }
    return body;
  }

  private static String description(JsonObject body) {
    Object v = body.getValue("description");
    if (v != null && !(v instanceof String)) {
      throw ApiError.invalidRequest("'description' must be a string.", "description");
    }
    String text = (String) v;
    if (text != null && text.length() > MAX_DESCRIPTION) {
      throw ApiError.invalidRequest("'description' is longer than " + MAX_DESCRIPTION + " characters.",
          "description");
    }
    return text == null ? null : Json.noControlCharacters(text, "description");
  }

  private static long endpointId(RoutingContext ctx) {
    return Json.pathId(ctx, "endpointId", EndpointStore::notFound);
  }
}
