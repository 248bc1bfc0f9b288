package ai.gpt.api.webhooks;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.account.SecretBox;
import ai.gpt.api.config.WebhookSettings;
import ai.gpt.api.db.Database;
import ai.gpt.api.testing.ChildJvm;
import ai.gpt.api.testing.GatewayProcess;
import ai.gpt.api.testing.Sleep;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A gateway JVM killed with SIGKILL while the receiver holds one of its deliveries open: nothing of that replica
 * runs any more (no stop hook, no recording), so the message stays leased to it. Another replica's worker sends it
 * when the lease ends, with the same webhook-id and body, and nothing else is sent twice or lost.
 */
@ExtendWith(VertxExtension.class)
class WebhookKillTest {
  private static final Path LOG = Path.of("target", "webhook-kill-test", "gateway.log");
  /** The shortest lease allowed (it must exceed the 10 s delivery timeout). */
  private static final long LEASE_MS = 11_000;
  private static final int MESSAGES = 6;

  private Pool pool;
  private EndpointStore store;
  private GatewayProcess gateway;
  private Vertx survivor;

  @BeforeEach
  void setUp(Vertx vertx) {
    TestServices.ensureDatabase();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 2);
    pool.query("TRUNCATE backends, organizations, users, webhook_outbox RESTART IDENTITY CASCADE").execute().await();
    store = new EndpointStore(pool, new SecretBox(TestServices.SECRETS_KEY));
  }

  @AfterEach
  void tearDown() {
    if (gateway != null) {
      gateway.close();
    }
    if (survivor != null) {
      survivor.close().await();
    }
    pool.close().await();
  }

  @Test
  @DisplayName("a gateway JVM SIGKILLed mid-delivery: another replica delivers after the lease, same webhook-id, "
      + "nothing lost, nothing else repeated")
  void killedMidDelivery(Vertx vertx) throws Exception {
    long org = pool.query("INSERT INTO organizations (name) VALUES ('kill') RETURNING id").execute().await()
        .iterator().next().getLong(0);
    try (WebhookReceiver receiver = WebhookReceiver.start(vertx)) {
      var created = store.create(org, receiver.url("/hang-once"), new String[] {"key.created"}, "").await();
      long endpoint = created.getLong("id");
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < MESSAGES; i++) {
        ids.add(store.test(org, endpoint, 600_000).await().getString("id"));
      }
      Map<String, String> env = new HashMap<>(GatewayProcess.environment("webhook-kill-a"));
      env.putAll(Map.of("WEBHOOK_ALLOW_LOOPBACK", "true", "WEBHOOK_LEASE_MS", String.valueOf(LEASE_MS),
          "WEBHOOK_POLL_MS", "50"));
      gateway = GatewayProcess.start(vertx, env, LOG);
      // The first request the receiver gets is held open; the others are answered and recorded.
      awaitTrue("every message sent once, all but the held one recorded as delivered", 30_000,
          () -> receiver.received.size() == MESSAGES && count("delivered") == MESSAGES - 1);
      String held = receiver.received.get(0).id();
      assertEquals(ChildJvm.KILLED_BY_SIGKILL, gateway.kill());
      assertEquals("webhook-kill-a", leasedBy(held), "still leased to the dead replica");
      assertEquals(1L, count("pending"));

      survivor = Vertx.vertx();
      Pool own = Database.pool(survivor, TestServices.DATABASE_URL, 2);
      WebhookSettings settings = new WebhookSettings(true, 100, 200, 600_000, 3_600_000, 0, 7, LEASE_MS, 50, 16);
      survivor.deployVerticle(new DeliveryWorker(own, new EndpointStore(own, new SecretBox(TestServices.SECRETS_KEY)),
          settings, "webhook-kill-b", (to, subject, text) -> Future.succeededFuture(), "http://localhost")).await();
      awaitTrue("the held message delivered by the other replica after the lease", 60_000,
          () -> count("delivered") == MESSAGES);
      Sleep.ms(1_000); // time for a (wrong) extra send to show

      Map<String, List<WebhookReceiver.Received>> byId = new HashMap<>();
      receiver.received.forEach(r -> byId.computeIfAbsent(r.id(), k -> new ArrayList<>()).add(r));
      assertEquals(new HashSet<>(ids), byId.keySet(), "every message arrived, and nothing else");
      assertEquals(MESSAGES + 1, receiver.received.size(), "only the held message was sent again");
      List<WebhookReceiver.Received> twice = byId.get(held);
      assertEquals(2, twice.size());
      assertEquals(twice.get(0).body(), twice.get(1).body(), "the repeat carries the same body");
      assertEquals(2, attempts(held), "the dead replica's attempt and the survivor's");
      for (WebhookReceiver.Received r : receiver.received) {
        assertTrue(StandardWebhooksVerifier.verify(created.getString("secret"), r.id(), r.timestamp(), r.signature(),
            r.body()), "signed, by both replicas");
      }
    }
  }

  private long count(String status) {
    return pool.preparedQuery("SELECT count(*) FROM webhook_deliveries WHERE status = $1").execute(Tuple.of(status))
        .await().iterator().next().getLong(0);
  }

  private int attempts(String messageId) {
    return pool.preparedQuery("SELECT attempts FROM webhook_deliveries WHERE message_id = $1")
        .execute(Tuple.of(messageId)).await().iterator().next().getInteger(0);
  }

  private String leasedBy(String messageId) {
    return pool.preparedQuery("SELECT leased_by FROM webhook_deliveries WHERE message_id = $1")
        .execute(Tuple.of(messageId)).await().iterator().next().getString(0);
  }
}
