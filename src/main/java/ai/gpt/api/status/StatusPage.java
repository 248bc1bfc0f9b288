package ai.gpt.api.status;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/** Builds the /api/status document from a live sample, the uptime history and the recent incidents. */
final class StatusPage {
  private StatusPage() {}

  static JsonObject build(LiveSample live, UptimeHistory.Snapshot uptime, List<JsonObject> incidents) {
    StatusLevel overall = StatusLevel.OPERATIONAL;
    JsonArray services = new JsonArray();
    for (int i = 0; i < live.services().size(); i++) {
      JsonObject s = live.services().getJsonObject(i).copy();
      overall = overall.worst(level(s.getString("status")));
      services.add(s.put("uptime", UptimeHistory.json(uptime, "service:" + s.getString("id"))));
    }
    JsonArray servers = new JsonArray();
    for (int i = 0; i < live.servers().size(); i++) {
      JsonObject s = live.servers().getJsonObject(i).copy();
      servers.add(s.put("uptime", UptimeHistory.json(uptime, "backend:" + s.getLong("id"))));
    }
    JsonArray open = new JsonArray();
    JsonArray recent = new JsonArray();
    for (JsonObject incident : incidents) {
      (incident.getString("resolved_at") == null ? open : recent).add(incident);
    }
    return new JsonObject()
        .put("object", "status")
        .put("status", overall.json())
        .put("description", description(overall))
        .put("updated_at", live.at().toString())
        .put("services", services)
        .put("models", live.models().copy())
        .put("servers", servers)
        .put("incidents", new JsonObject().put("open", open).put("recent", recent));
  }

  private static StatusLevel level(String json) {
    for (StatusLevel l : StatusLevel.values()) {
      if (l.json().equals(json)) {
        return l;
      }
    }
    throw new IllegalArgumentException(json);
  }

  private static String description(StatusLevel overall) {
    return switch (overall) {
      case OPERATIONAL -> "All systems operational";
      case DEGRADED_PERFORMANCE -> "Degraded performance";
      case PARTIAL_OUTAGE -> "Partial outage";
      case MAJOR_OUTAGE -> "Major outage";
    };
  }
}
