package ai.gpt.api.admin;

import static ai.gpt.api.admin.AdminParams.before;
import static ai.gpt.api.admin.AdminParams.limit;
import static ai.gpt.api.admin.AdminParams.pathId;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.Json;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.status.IncidentInput;
import ai.gpt.api.status.Incidents;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/**
 * The status page's incidents: list, open, post an update, resolve. Each write is audited by {@link Incidents} in
 * its transaction and e-mailed to the status subscribers after the commit.
 */
final class AdminIncidentRoutes {
  private final Incidents incidents;

  AdminIncidentRoutes(Incidents incidents) {
    this.incidents = incidents;
  }

  void mount(Router api) {
    api.get("/admin/incidents").handler(this::list);
    api.post("/admin/incidents").handler(ctx -> reply(ctx, 201,
        incidents.open(ApiAuth.of(ctx).userId(), IncidentInput.open(Json.body(ctx)))));
    api.get("/admin/incidents/:incidentId").handler(ctx -> reply(ctx, 200, incidents.get(id(ctx))));
    api.post("/admin/incidents/:incidentId/updates").handler(ctx -> reply(ctx, 201,
        incidents.update(ApiAuth.of(ctx).userId(), id(ctx), IncidentInput.update(Json.body(ctx)))));
    api.post("/admin/incidents/:incidentId/resolve").handler(ctx -> reply(ctx, 200,
        incidents.update(ApiAuth.of(ctx).userId(), id(ctx), IncidentInput.resolve(optionalBody(ctx)))));
  }

  private void list(RoutingContext ctx) {
    List<String> state = ctx.queryParam("state");
    String s = state.isEmpty() || state.get(0).isEmpty() ? null : state.get(0);
    if (s != null && !s.equals("open") && !s.equals("resolved")) {
      throw ApiError.invalidRequest("'state' must be open or resolved.", "state");
    }
    reply(ctx, 200, incidents.list(s, limit(ctx), before(ctx)));
  }

  /** Resolving needs no body at all: an empty one is an empty object. */
  private static JsonObject optionalBody(RoutingContext ctx) {
    var raw = ctx.body().buffer();
    return raw == null || raw.length() == 0 ? new JsonObject() : Json.body(ctx);
  }

  private static long id(RoutingContext ctx) {
    return pathId(ctx, "incidentId", "incident");
  }

  private static void reply(RoutingContext ctx, int status, Future<JsonObject> result) {
    result.onSuccess(json -> Json.send(ctx, status, json)).onFailure(ctx::fail);
  }
}
