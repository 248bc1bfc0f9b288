package ai.gpt.api.webhooks;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Delivery over https end to end: a TLS receiver whose self-signed certificate (made in the test) is trusted through
 * WEBHOOK_CA_FILE gets signed messages; a receiver with a certificate nobody vouches for gets nothing (no "trust
 * all" anywhere), and the delivery log says why.
 */
@ExtendWith(VertxExtension.class)
class WebhookHttpsTest {
  private SelfSignedCertificate trustedCert;
  private SelfSignedCertificate strangerCert;
  private ApiUsers users;
  private WebhookReceiver trusted;
  private WebhookReceiver stranger;
  private User ada;
  private String base;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    trustedCert = SelfSignedCertificate.create("localhost");
    strangerCert = SelfSignedCertificate.create("localhost");
    users = ApiUsers.start(vertx, Map.of("WEBHOOK_ALLOW_LOOPBACK", "true", "WEBHOOK_POLL_MS", "50",
        "WEBHOOK_RETRY_BASE_MS", "200", "WEBHOOK_RETRY_MAX_MS", "400",
        "WEBHOOK_CA_FILE", trustedCert.certificatePath()));
    users.gw.pool().query("TRUNCATE webhook_outbox").execute().await();
    trusted = WebhookReceiver.startTls(vertx, trustedCert);
    stranger = WebhookReceiver.startTls(vertx, strangerCert);
    ada = users.signUp("ada@example.com");
    base = "/api/orgs/" + ada.orgId() + "/webhooks";
  }

  @AfterEach
  void stop() {
    trusted.close();
    stranger.close();
    users.close();
    trustedCert.delete();
    strangerCert.delete();
  }

  private JsonObject endpoint(String url) {
    HttpResponse<Buffer> r = users.call("POST", base, ada.token(), new JsonObject().put("url", url)
        .put("events", new JsonArray().add("key.created")));
    assertEquals(201, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject();
  }

  private String sendTest(long endpointId) {
    HttpResponse<Buffer> r = users.call("POST", base + "/" + endpointId + "/test", ada.token(), null);
    assertEquals(202, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getString("id");
  }

  private JsonObject delivery(long endpointId) {
    HttpResponse<Buffer> r = users.call("GET", base + "/" + endpointId + "/deliveries", ada.token(), null);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonArray("data").getJsonObject(0);
  }

  @Test
  @DisplayName("https to a receiver whose CA is in WEBHOOK_CA_FILE: delivered over TLS, signature verified")
  void deliveredOverTls() {
    String url = trusted.url("/ok");
    assertTrue(url.startsWith("https://localhost:"), url);
    JsonObject ep = endpoint(url);
    String messageId = sendTest(ep.getLong("id"));
    awaitTrue("the message over https", () -> trusted.received.size() == 1);
    WebhookReceiver.Received got = trusted.received.get(0);
    assertTrue(got.tls(), "received over TLS");
    assertEquals(messageId, got.id());
    assertEquals("localhost:" + trusted.port(), got.host(), "Host (and SNI) carry the URL's name");
    assertTrue(StandardWebhooksVerifier.verify(ep.getString("secret"), got.id(), got.timestamp(), got.signature(),
        got.body()), "the independent verifier accepts the signature");
    awaitTrue("delivered in the log", () -> "delivered".equals(delivery(ep.getLong("id")).getString("status")));
  }

  @Test
  @DisplayName("https to a certificate no trusted CA signed: refused at the handshake, retried, never delivered")
  void untrustedCertificateRefused() {
    long id = endpoint(stranger.url("/ok")).getLong("id");
    sendTest(id);
    awaitTrue("two failed attempts", () -> delivery(id).getInteger("attempts") >= 2);
    JsonObject logged = delivery(id);
    assertEquals("pending", logged.getString("status"), logged.encode());
    assertEquals(null, logged.getValue("response_status"), "no HTTP answer: the TLS handshake failed");
    assertTrue(logged.getString("error") != null && !logged.getString("error").isEmpty(), logged.encode());
    assertEquals(0, stranger.received.size(), "no request reached the receiver");
  }
}
