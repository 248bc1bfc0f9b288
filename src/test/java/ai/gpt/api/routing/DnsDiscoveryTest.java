package ai.gpt.api.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.proxy.ChatCompletionsTestSupport;
import ai.gpt.api.testing.FakeDnsServer;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * BACKEND_DNS against a real DNS server: two fake llama-servers on one port at two loopback addresses play the pods
 * of a headless Service, and the DNS answer changes as the workload scales.
 */
@ExtendWith(VertxExtension.class)
class DnsDiscoveryTest {
  private static final String NAME = "llama-gpt-fast.ai.svc.cluster.local";
  private FakeDnsServer dns;
  private FakeLlamaServer podA;
  private FakeLlamaServer podB;
  private FakeLlamaServer embed;
  private GatewayHarness gw;

  @BeforeEach
  void start(Vertx vertx) {
    dns = FakeDnsServer.start(vertx).await();
    podA = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().host("127.0.0.2").apiKey("pod-key")).await();
    podB = FakeLlamaServer.start(vertx,
        new FakeLlamaServer.Options().host("127.0.0.3").port(podA.port()).apiKey("pod-key")).await();
    embed = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().embeddings(true)).await();
    dns.set(NAME, List.of("127.0.0.2"));
    gw = GatewayHarness.start(vertx, Map.of(
        "BACKEND_DNS", "gpt-fast=" + NAME + ":" + podA.port(),
        "BACKEND_DNS_SERVER", dns.address(),
        "BACKEND_DNS_INTERVAL_MS", "100",
        "BACKEND_DNS_API_KEY", "pod-key"));
  }

  @AfterEach
  void stop() {
    gw.close();
    podA.close().await();
    podB.close().await();
    embed.close().await();
    dns.close().await();
  }

  @Test
  @DisplayName("pods appear and disappear with the DNS answer; a failing DNS keeps the last answer; no pods is 503")
  void followsTheDnsAnswer() {
    awaitHealthy(podA);
    assertEquals(200, chat(), "routed to the one pod, with BACKEND_DNS_API_KEY");
    assertEquals("Bearer pod-key", podA.lastRequestHeaders().get("authorization"));

    // Scale up: a second address, no CLI call.
    dns.set(NAME, List.of("127.0.0.2", "127.0.0.3"));
    awaitHealthy(podB);
    // A change of the backends table (here another model's backend) reloads the catalog: discovered pods stay.
    gw.addBackend("embed", embed);
    assertTrue(listed(podA) && listed(podB), gw.metrics());
    for (int i = 0; i < 20; i++) {
      assertEquals(200, chat());
    }
    assertTrue(podA.requestCount() > 1 && podB.requestCount() > 0,
        "both pods serve: " + podA.requestCount() + " and " + podB.requestCount());

    // DNS fails (SERVFAIL): the last good answer stays in rotation, and the failure is counted.
    dns.failWith(true);
    GatewayHarness.awaitTrue("a counted DNS failure",
        () -> gw.metrics().contains("gptapi_backend_dns_failures_total{model=\"gpt-fast\"}"));
    assertTrue(listed(podA) && listed(podB));
    assertEquals(200, chat());
    dns.failWith(false);

    // Scale down: the vanished address leaves rotation.
    dns.set(NAME, List.of("127.0.0.3"));
    GatewayHarness.awaitTrue("pod A out of the routing table", () -> !listed(podA));
    int servedByA = podA.requestCount();
    for (int i = 0; i < 10; i++) {
      assertEquals(200, chat());
    }
    assertEquals(servedByA, podA.requestCount(), "nothing more reaches the removed pod");

    // No ready pod at all (NXDOMAIN): the model has no backend and answers 503; the table's backends are untouched.
    dns.set(NAME, null);
    GatewayHarness.awaitTrue("pod B out of the routing table", () -> !listed(podB));
    assertEquals(503, chat());
    assertTrue(gw.metrics().contains("url=\"" + embed.baseUrl() + "\""), "the embed backend from the table stays");
  }

  private int chat() {
    return gw.post("/v1/chat/completions", key(), ChatCompletionsTestSupport.chat("gpt-fast")).statusCode();
  }

  private String key;

  private String key() {
    if (key == null) {
      key = gw.createKey();
    }
    return key;
  }

  private boolean listed(FakeLlamaServer pod) {
    return gw.metrics().lines().anyMatch(l -> l.startsWith("gptapi_backend_slots{")
        && l.contains("url=\"" + pod.baseUrl() + "\""));
  }

  private void awaitHealthy(FakeLlamaServer pod) {
    GatewayHarness.awaitTrue(pod.baseUrl() + " healthy", () -> gw.metrics().lines()
        .anyMatch(l -> l.startsWith("gptapi_backend_healthy{") && l.contains("url=\"" + pod.baseUrl() + "\"")
            && l.contains("backend=\"-") && l.endsWith(" 1.0")));
  }
}
