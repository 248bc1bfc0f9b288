package ai.gpt.api.webhooks;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.account.SecretBox;
import ai.gpt.api.config.WebhookSettings;
import ai.gpt.api.db.Database;
import io.vertx.core.Future;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two replicas' delivery workers (each in its own Vert.x instance, as in two JVMs) sharing one outbox: no message
 * is sent by both, and a replica killed mid-delivery loses nothing: its lease expires and the other sends the
 * message with the same webhook-id.
 */
@ExtendWith(VertxExtension.class)
class WebhookLeaseTest {
  /**
   * Far below production's 30 s to keep the test short, but longer than an attempt plus its recording take on this
   * busy machine: a lease that ends before its attempt is recorded lets another replica send the message again
   * (at-least-once), which is why WEBHOOK_LEASE_MS must exceed the 10 s delivery timeout.
   */
  private static final long LEASE_MS = 3_000;
  private static final WebhookSettings SETTINGS = new WebhookSettings(true, 100, 200, 600_000, 3_600_000, 0, 7,
      LEASE_MS, 50, 16);

  private Vertx replicaA;
  private Vertx replicaB;
  private Pool pool;
  private EndpointStore store;
  private long orgId;

  @BeforeEach
  void setUp(Vertx vertx) {
    TestServices.ensureDatabase();
    replicaA = Vertx.vertx();
    replicaB = Vertx.vertx();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 4);
    pool.query("TRUNCATE organizations, users, webhook_outbox RESTART IDENTITY CASCADE").execute().await();
    orgId = pool.query("INSERT INTO organizations (name) VALUES ('acme') RETURNING id").execute().await()
        .iterator().next().getLong(0);
    store = new EndpointStore(pool, new SecretBox(TestServices.SECRETS_KEY));
  }

  @AfterEach
  void tearDown() {
    replicaA.close().await();
    replicaB.close().await();
    pool.close().await();
  }

  /** A replica: its own Vert.x, pool and worker, as a separate gateway process would have. */
  private DeliveryWorker startWorker(Vertx replica, String name) {
    Pool own = Database.pool(replica, TestServices.DATABASE_URL, 4);
    DeliveryWorker worker = new DeliveryWorker(own, new EndpointStore(own, new SecretBox(TestServices.SECRETS_KEY)),
        SETTINGS, name, (to, subject, text) -> Future.succeededFuture(), "http://localhost");
    replica.deployVerticle(worker).await();
    return worker;
  }

  private long endpoint(WebhookReceiver receiver, String path) {
    return store.create(orgId, receiver.url(path), new String[] {"key.created"}, "").await().getLong("id");
  }

  @Test
  @DisplayName("a replica killed mid-delivery: after its lease another replica sends the same webhook-id, once")
  void replicaKilledMidDelivery(Vertx vertx) throws Exception {
    try (WebhookReceiver receiver = WebhookReceiver.start(vertx)) {
      long endpoint = endpoint(receiver, "/hang-once");
      String messageId = store.test(orgId, endpoint, 600_000).await().getString("id");
      startWorker(replicaA, "replica-a");
      awaitTrue("replica A's attempt reached the receiver", () -> receiver.received.size() == 1);
      replicaA.close().await(); // killed while the receiver has not answered: nothing recorded
      Row leased = delivery(messageId);
      assertEquals("pending", leased.getString("status"));
      assertEquals("replica-a", leased.getString("leased_by"));
      assertEquals(1, leased.getInteger("attempts"));

      startWorker(replicaB, "replica-b");
      awaitTrue("delivered by replica B", () -> "delivered".equals(delivery(messageId).getString("status")));
      Thread.sleep(3 * SETTINGS.pollMs()); // test thread: time for a (wrong) extra send to show
      assertEquals(2, receiver.received.size());
      assertEquals(messageId, receiver.received.get(0).id());
      assertEquals(messageId, receiver.received.get(1).id());
      assertEquals(receiver.received.get(0).body(), receiver.received.get(1).body());
      assertEquals(2, delivery(messageId).getInteger("attempts"));
    }
  }

  @Test
  @DisplayName("two replicas share 300 due messages without sending any twice")
  void sharedWithoutDoubleDelivery(Vertx vertx) throws Exception {
    try (WebhookReceiver receiver = WebhookReceiver.start(vertx)) {
      long endpoint = endpoint(receiver, "/ok");
      pool.preparedQuery("INSERT INTO webhook_deliveries (endpoint_id, type, payload, retry_until) "
              + "SELECT $1, 'webhook.test', '{\"type\":\"webhook.test\",\"n\":' || i || '}', now() + interval '1 hour' "
              + "FROM generate_series(1, 300) i")
          .execute(Tuple.of(endpoint)).await();
      DeliveryWorker a = startWorker(replicaA, "replica-a");
      DeliveryWorker b = startWorker(replicaB, "replica-b");
      awaitTrue("300 delivered", () -> a.delivered() + b.delivered() == 300);
      Thread.sleep(3 * SETTINGS.pollMs());
      Set<String> ids = new HashSet<>();
      receiver.received.forEach(r -> ids.add(r.id()));
      assertEquals(300, receiver.received.size(), "no message sent twice");
      assertEquals(300, ids.size());
      assertEquals(300L, pool.query("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered' AND "
          + "attempts = 1").execute().await().iterator().next().getLong(0));
      System.out.printf("replica A delivered %d, replica B %d%n", a.delivered(), b.delivered());
    }
  }

  @Test
  @DisplayName("retention: finished messages older than WEBHOOK_RETENTION_DAYS are deleted, pending ones never")
  void retention(Vertx vertx) throws Exception {
    try (WebhookReceiver receiver = WebhookReceiver.start(vertx)) {
      long endpoint = endpoint(receiver, "/ok");
      pool.preparedQuery("""
          INSERT INTO webhook_deliveries (endpoint_id, type, payload, status, retry_until, finished_at, next_attempt_at)
          VALUES ($1, 't', '{}', 'delivered', now(), now() - interval '8 days', now()),
                 ($1, 't', '{}', 'failed', now(), now() - interval '8 days', now()),
                 ($1, 't', '{}', 'delivered', now(), now() - interval '6 days', now()),
                 ($1, 't', '{}', 'pending', now() + interval '1 hour', NULL, now() + interval '1 hour')""")
          .execute(Tuple.of(endpoint)).await();
      DeliveryWorker worker = startWorker(replicaA, "replica-a");
      assertEquals(2L, worker.purge().await());
      assertEquals(2L, pool.query("SELECT count(*) FROM webhook_deliveries").execute().await().iterator().next()
          .getLong(0));
    }
  }

  private Row delivery(String messageId) {
    return pool.preparedQuery("SELECT status, attempts, leased_by FROM webhook_deliveries WHERE message_id = $1")
        .execute(Tuple.of(messageId)).await().iterator().next();
  }
}
