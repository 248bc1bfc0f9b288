package ai.gpt.api.metrics;

import static ai.gpt.api.helm.Chart.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.helm.Chart;
import ai.gpt.api.proxy.ChatCompletionsTestSupport;
import ai.gpt.api.testing.FakeDnsServer;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.Sleep;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Grafana dashboard and the alert rules the chart ships query only metrics the gateway exports: traffic goes
 * through every path (success, stream, embeddings, 402, 429, 503 queue and no backend, a backend dying, a failing
 * DNS name), then every metric name in the rendered dashboard's and PrometheusRule's PromQL must be in /metrics.
 */
@ExtendWith(VertxExtension.class)
class MonitoringMetricsTest {
  /** PromQL words that are not metric names. */
  private static final Set<String> PROMQL_WORDS = Set.of("by", "without", "on", "ignoring", "group_left",
      "group_right", "and", "or", "unless", "bool", "offset", "le", "inf", "nan");
  /** Series Prometheus makes itself. */
  private static final Set<String> PROMETHEUS_OWN = Set.of("up");

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES) // many paths, each awaited; slow only on an overloaded machine
  @DisplayName("every metric in the dashboard and the alert rules exists after traffic through every path")
  void dashboardAndAlertsUseRealMetrics(Vertx vertx) {
    List<String> queries = queries();
    Set<String> names = metricNames(queries);
    assertTrue(names.size() > 25, "parsed metric names: " + names);

    FakeDnsServer dns = FakeDnsServer.start(vertx).await();
    dns.failWith(true);
    FakeLlamaServer fastA = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    FakeLlamaServer fastB = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    FakeLlamaServer full = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(1).tokenDelayMs(100))
        .await();
    FakeLlamaServer embed = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().embeddings(true)).await();
    GatewayHarness gw = GatewayHarness.start(vertx, Map.of(
        "QUEUE_SIZE", "1",
        "STATUS_SAMPLE_MS", "200",
        "BACKEND_DNS", "gpt-full=llama-gpt-full.ai.svc.cluster.local:8080",
        "BACKEND_DNS_SERVER", dns.address(),
        "BACKEND_DNS_INTERVAL_MS", "100"));
    try {
      gw.addBackend("gpt-fast", fastA);
      gw.addBackend("gpt-fast", fastB);
      long fullId = gw.addBackend("gpt-full", full);
      gw.addBackend("embed", embed);
      String key = gw.createKey();

      // Success, stream, embeddings (retried: on a loaded machine a probe may time out and quarantine a backend
      // for a moment, which is not what this test is about).
      eventually(200, () -> gw.post("/v1/chat/completions", key, ChatCompletionsTestSupport.chat("gpt-fast")));
      HttpResponse<Buffer> stream = eventually(200, () -> gw.post("/v1/chat/completions", key,
          ChatCompletionsTestSupport.chat("gpt-fast").put("stream", true)));
      assertTrue(stream.bodyAsString().contains("data: [DONE]"));
      eventually(200, () -> gw.post("/v1/embeddings", key,
          new JsonObject().put("model", "embed").put("input", new JsonArray().add("hello"))));

      // 402: an organization without credit.
      String poor = gw.createKey(gw.createOrg("poor", 0), null);
      eventually(402, () -> gw.post("/v1/chat/completions", poor, ChatCompletionsTestSupport.chat("gpt-fast")));
      // 429: one request per minute.
      long limited = gw.createOrg("limited");
      gw.pool().preparedQuery("UPDATE organizations SET rpm = 1 WHERE id = $1").execute(Tuple.of(limited)).await();
      String limitedKey = gw.createKey(limited, null);
      eventually(429, () -> gw.post("/v1/chat/completions", limitedKey,
          ChatCompletionsTestSupport.chat("gpt-fast")));

      // 503 overloaded: one slot and a queue of one on gpt-full, three requests at once.
      for (int round = 0; round < 5 && !gw.metrics().contains("gptapi_queue_rejections_total{"); round++) {
        List<Future<HttpResponse<Buffer>>> burst = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
          burst.add(gw.client().post("/v1/chat/completions").bearerTokenAuthentication(key)
              .sendJsonObject(ChatCompletionsTestSupport.chat("gpt-full").put("max_tokens", 4)));
        }
        burst.forEach(f -> f.await());
      }

      // A backend fails (500 before any byte, /health still 200): requests on it are retried on the other one.
      fastA.setHealth(FakeLlamaServer.Health.ERROR_500);
      for (int i = 0; i < 40 && !gw.metrics().contains("gptapi_upstream_retries_total{"); i++) {
        gw.post("/v1/chat/completions", key, ChatCompletionsTestSupport.chat("gpt-fast"));
      }
      // Then it dies (connections closed): a probe or a request takes it out of rotation.
      fastA.setHealth(FakeLlamaServer.Health.FAIL);
      for (int i = 0; i < 40 && !gw.metrics().contains("gptapi_backend_quarantines_total{"); i++) {
        gw.post("/v1/chat/completions", key, ChatCompletionsTestSupport.chat("gpt-fast"));
      }
      // 503 no healthy backend: gpt-full's only backend drained.
      gw.setBackendState(fullId, "draining");
      eventually(503, () -> gw.post("/v1/chat/completions", key,
          ChatCompletionsTestSupport.chat("gpt-full").put("max_tokens", 4)));
      GatewayHarness.awaitTrue("dependency checks sampled", () -> gw.metrics().contains("gptapi_dependency_up{"));
      GatewayHarness.awaitTrue("a counted DNS failure",
          () -> gw.metrics().contains("gptapi_backend_dns_failures_total{"));

      // The GC pause timer is registered at a process's first collection, which a real gateway has long had.
      System.gc();
      GatewayHarness.awaitTrue("a GC pause recorded", () -> gw.metrics().contains("jvm_gc_pause_seconds_sum"));
      String scrape = gw.metrics();
      Set<String> exported = new TreeSet<>();
      for (String line : scrape.lines().toList()) {
        if (!line.startsWith("#") && !line.isBlank()) {
          exported.add(line.split("[{ ]", 2)[0]);
        }
      }
      Set<String> missing = new TreeSet<>(names);
      missing.removeAll(exported);
      missing.removeAll(PROMETHEUS_OWN);
      assertEquals(Set.of(), missing, "queried by the dashboard or the alerts but not exported");
      for (String status : List.of("200", "402", "429", "503")) {
        assertTrue(scrape.contains("status=\"" + status + "\""), "requests counted with status " + status);
      }
    } finally {
      gw.close();
      for (FakeLlamaServer fake : List.of(fastA, fastB, full, embed)) {
        fake.close().await();
      }
      dns.close().await();
    }
  }

  /** Sends until the answer has the status (at most a minute), so a briefly quarantined backend cannot fail it. */
  private static HttpResponse<Buffer> eventually(int status, Supplier<HttpResponse<Buffer>> send) {
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      HttpResponse<Buffer> response = send.get();
      if (response.statusCode() == status) {
        return response;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("expected " + status + ", last answer " + response.statusCode() + ": "
            + response.bodyAsString());
      }
      Sleep.ms(100);
    }
  }

  /** Every PromQL expression of the dashboard and of the alert rules, as the chart renders them. */
  private static List<String> queries() {
    Chart chart = Chart.render(Chart.FULL);
    List<String> queries = new ArrayList<>();
    List<Map<String, Object>> groups = at(chart.get("PrometheusRule", "prod-gpt-api"), "spec", "groups");
    for (Map<String, Object> group : groups) {
      List<Map<String, Object>> rules = at(group, "rules");
      rules.forEach(r -> queries.add((String) r.get("expr")));
    }
    JsonObject dashboard = new JsonObject((String) at(chart.get("ConfigMap", "prod-gpt-api-dashboard"), "data",
        "gpt-api.json"));
    for (Object panel : dashboard.getJsonArray("panels")) {
      JsonArray targets = ((JsonObject) panel).getJsonArray("targets", new JsonArray());
      targets.forEach(t -> queries.add(((JsonObject) t).getString("expr")));
    }
    assertTrue(queries.size() > 40, "found " + queries.size() + " queries");
    return queries;
  }

  /**
   * The metric names in PromQL: identifiers not followed by '(' (functions), outside label matchers, strings,
   * ranges and by/without lists, that are not keywords or numbers.
   */
  static Set<String> metricNames(List<String> queries) {
    Set<String> names = new TreeSet<>();
    Pattern identifier = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    for (String q : queries) {
      String stripped = q.replaceAll("\"[^\"]*\"", "\"\"")
          .replaceAll("\\{[^}]*}", "")
          .replaceAll("\\[[^]]*]", "")
          .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", "")
          .replaceAll("\\$\\w+", "");
      Matcher m = identifier.matcher(stripped);
      while (m.find()) {
        String word = m.group();
        int after = m.end();
        while (after < stripped.length() && stripped.charAt(after) == ' ') {
          after++;
        }
        boolean function = after < stripped.length() && stripped.charAt(after) == '(';
        boolean number = m.start() > 0 && Character.isDigit(stripped.charAt(m.start() - 1));
        if (!function && !number && !PROMQL_WORDS.contains(word.toLowerCase())) {
          names.add(word);
        }
      }
    }
    return names;
  }
}
