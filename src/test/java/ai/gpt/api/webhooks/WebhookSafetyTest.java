package ai.gpt.api.webhooks;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.account.SecretBox;
import ai.gpt.api.config.WebhookSettings;
import ai.gpt.api.db.Database;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a hostile or broken receiver can do to a delivery: a redirect is not followed (a failed attempt), a huge
 * answer is read only up to the cap, and one that never answers fails the attempt after the 10 s timeout.
 */
@ExtendWith(VertxExtension.class)
class WebhookSafetyTest {
  private static final WebhookSettings SETTINGS = new WebhookSettings(true, 60_000, 60_000, 600_000, 3_600_000, 0, 7,
      30_000, 50, 16);
  private Pool pool;
  private EndpointStore store;
  private Vertx replica;
  private long org;

  @BeforeEach
  void setUp(Vertx vertx) {
    TestServices.ensureDatabase();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 2);
    pool.query("TRUNCATE organizations, users, webhook_outbox RESTART IDENTITY CASCADE").execute().await();
    org = pool.query("INSERT INTO organizations (name) VALUES ('safety') RETURNING id").execute().await().iterator()
        .next().getLong(0);
    store = new EndpointStore(pool, new SecretBox(TestServices.SECRETS_KEY));
    replica = Vertx.vertx();
    Pool own = Database.pool(replica, TestServices.DATABASE_URL, 2);
    replica.deployVerticle(new DeliveryWorker(own, new EndpointStore(own, new SecretBox(TestServices.SECRETS_KEY)),
        SETTINGS, "safety", (to, subject, text) -> Future.succeededFuture(), "http://localhost")).await();
  }

  @AfterEach
  void tearDown() {
    replica.close().await();
    pool.close().await();
  }

  private String send(WebhookReceiver receiver, String path) {
    long endpoint = store.create(org, receiver.url(path), new String[] {"key.created"}, "").await().getLong("id");
    return store.test(org, endpoint, 600_000).await().getString("id");
  }

  private Row delivery(String messageId) {
    return pool.preparedQuery("SELECT status, attempts, last_status, last_response, last_error FROM"
        + " webhook_deliveries WHERE message_id = $1").execute(Tuple.of(messageId)).await().iterator().next();
  }

  @Test
  @DisplayName("no redirect followed, the answer read up to 4 KiB, and no answer in 10 s fails the attempt")
  void hostileReceivers(Vertx vertx) {
    try (WebhookReceiver receiver = WebhookReceiver.start(vertx)) {
      String redirected = send(receiver, "/redirect");
      String big = send(receiver, "/big");
      long hangStarted = System.currentTimeMillis();
      String hung = send(receiver, "/hang");

      awaitTrue("the redirect attempt recorded", () -> delivery(redirected).getInteger("attempts") == 1
          && delivery(redirected).getInteger("last_status") != null);
      Row r = delivery(redirected);
      assertEquals("pending", r.getString("status"), "a 3xx is a failed attempt");
      assertEquals(302, r.getInteger("last_status"));
      assertEquals("HTTP 302", r.getString("last_error"));
      assertEquals(0, receiver.matching(x -> x.path().equals("/ok")).size(), "the Location was not followed");

      awaitTrue("the big answer recorded", () -> "delivered".equals(delivery(big).getString("status")));
      assertEquals(Sender.RESPONSE_CAP, delivery(big).getString("last_response").length(),
          "only the first " + Sender.RESPONSE_CAP + " bytes of a " + WebhookReceiver.BIG_BODY + "-byte answer kept");

      awaitTrue("the hung attempt failed", 30_000, () -> delivery(hung).getString("last_error") != null);
      long took = System.currentTimeMillis() - hangStarted;
      Row h = delivery(hung);
      assertEquals("pending", h.getString("status"));
      assertTrue(h.getString("last_error").contains("within " + WebhookSettings.TIMEOUT_MS + " ms"),
          h.getString("last_error"));
      assertTrue(took >= WebhookSettings.TIMEOUT_MS, "failed after the timeout, not before: " + took + " ms");
    }
  }
}
