package ai.gpt.api.status;

import ai.gpt.api.Gateway;
import ai.gpt.api.config.Env;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.testing.GatewayProcess;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.HashMap;
import java.util.Map;

/**
 * A second gateway replica in this JVM for the status tests: its own pools, health checker, usage writer, status
 * monitor and ports, sharing only PostgreSQL and Redis with the first (a second JVM takes over 30 s to start on a
 * loaded 2-core machine, and nothing of the status feature is shared in-process).
 */
final class StatusReplicas {
  private StatusReplicas() {}

  static Gateway start(Vertx vertx, String name, Map<String, String> settings) {
    Map<String, String> env = new HashMap<>(GatewayProcess.environment(name));
    env.putAll(settings);
    env.put("PORT", "0");
    env.put("METRICS_PORT", "0");
    return Gateway.start(vertx, GatewayConfig.from(Env.of(env))).await();
  }

  /** A service's level on the /api/status of the replica at {@code port}; null while it answers 503 (starting). */
  static String serviceLevel(WebClient client, int port, String service) {
    HttpResponse<Buffer> resp = client.get(port, "127.0.0.1", "/api/status").send().await();
    if (resp.statusCode() == 503) {
      return null;
    }
    JsonObject status = resp.bodyAsJsonObject();
    for (Object s : status.getJsonArray("services")) {
      if (service.equals(((JsonObject) s).getString("id"))) {
        return ((JsonObject) s).getString("status");
      }
    }
    throw new AssertionError("no service " + service + " in " + status.encode());
  }
}
