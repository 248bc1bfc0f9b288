package ai.gpt.api.webhooks;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.account.SecretBox;
import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Without WEBHOOK_ALLOW_LOOPBACK a name resolving to loopback is refused at create time AND at connect time. */
@ExtendWith(VertxExtension.class)
class WebhookRefusalTest {

  @Test
  @DisplayName("'localhost' is refused when created, and refused at delivery when it got in anyway (DNS changed)")
  void loopbackNameRefused(Vertx vertx) throws Exception {
    try (ApiUsers users = ApiUsers.start(vertx, Map.of("WEBHOOK_POLL_MS", "50"));
        WebhookReceiver receiver = WebhookReceiver.start(vertx)) {
      users.gw.pool().query("TRUNCATE webhook_outbox").execute().await();
      User ada = users.signUp("ada@example.com");
      String base = "/api/orgs/" + ada.orgId() + "/webhooks";
      JsonArray events = new JsonArray().add("key.created");
      HttpResponse<Buffer> http = users.call("POST", base, ada.token(),
          new JsonObject().put("url", receiver.url("/ok")).put("events", events));
      assertEquals(400, http.statusCode());
      assertTrue(http.bodyAsString().contains("https://"), http.bodyAsString());
      String url = "https://localhost:" + receiver.port() + "/ok";
      HttpResponse<Buffer> named = users.call("POST", base, ada.token(), new JsonObject().put("url", url)
          .put("events", events));
      assertEquals(400, named.statusCode());
      assertTrue(named.bodyAsString().contains("loopback address"), named.bodyAsString());

      // As if the name had resolved to a public address when the endpoint was made: stored without the API's check.
      EndpointStore store = new EndpointStore(users.gw.pool(), new SecretBox(TestServices.SECRETS_KEY));
      long id = store.create(ada.orgId(), url, new String[] {"key.created"}, "").await().getLong("id");
      HttpResponse<Buffer> test = users.call("POST", base + "/" + id + "/test", ada.token(), null);
      assertEquals(202, test.statusCode(), test.bodyAsString());
      awaitTrue("a refused attempt", () -> lastError(users, ada.token(), base + "/" + id) != null);
      String error = lastError(users, ada.token(), base + "/" + id);
      assertTrue(error.startsWith("refused: 'localhost' resolves to 127.0.0.1, a loopback address"), error);
      assertEquals(0, receiver.received.size(), "nothing reached the receiver");
    }
  }

  /** The error of the endpoint's newest delivery, or null before its first attempt. */
  private static String lastError(ApiUsers users, String token, String endpoint) {
    JsonArray data = users.call("GET", endpoint + "/deliveries", token, null).bodyAsJsonObject().getJsonArray("data");
    return data.isEmpty() ? null : data.getJsonObject(0).getString("error");
  }
}
