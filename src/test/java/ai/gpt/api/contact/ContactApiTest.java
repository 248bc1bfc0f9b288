package ai.gpt.api.contact;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.Sleep;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * POST /api/contact over real HTTP: stored, e-mailed to CONTACT_EMAIL through the test SMTP server, listed for
 * admins, limited per client address and per sender, and bad input refused with a 400 naming the field. The gateway
 * trusts 127.0.0.1 as a proxy, so each request names its client address in X-Forwarded-For.
 */
@ExtendWith(VertxExtension.class)
class ContactApiTest {
  private static final String OPERATOR = "operator@gpt.test";
  private ApiClient api;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    api = ApiClient.start(vertx, Map.of("CONTACT_EMAIL", OPERATOR, "TRUSTED_PROXIES", "127.0.0.1"));
  }

  @AfterEach
  void stop() {
    api.close();
  }

  private HttpResponse<Buffer> send(String client, JsonObject body) {
    return api.gateway().client().post("/api/contact").putHeader("X-Forwarded-For", client).sendJsonObject(body)
        .await();
  }

  private static JsonObject message(String email) {
    return new JsonObject().put("name", "Ada Lovelace").put("email", email).put("topic", "billing")
        .put("message", "How do I get an invoice?\nThanks.");
  }

  private long stored() {
    return api.gateway().pool().query("SELECT count(*) FROM contact_messages").execute().await().iterator().next()
        .getLong(0);
  }

  @Test
  @DisplayName("a message is answered 202, stored, e-mailed to the operator and listed in the admin API (admins only)")
  void storedMailedListed() {
    HttpResponse<Buffer> sent = send("203.0.113.1", message("Ada@Example.com"));
    assertEquals(202, sent.statusCode(), sent.bodyAsString());
    long id = sent.bodyAsJsonObject().getLong("id");
    Row row = api.gateway().pool().preparedQuery("SELECT name, email, topic, message, client_address"
        + " FROM contact_messages WHERE id = $1").execute(Tuple.of(id)).await().iterator().next();
    assertEquals("ada@example.com", row.getString("email"));
    assertEquals("billing", row.getString("topic"));
    assertEquals("How do I get an invoice?\nThanks.", row.getString("message"));
    assertEquals("203.0.113.1", row.getString("client_address"));

    String mail = api.mailTo(OPERATOR, "[GPT API contact] billing: Ada Lovelace");
    assertTrue(mail.contains("ada@example.com") && mail.contains("How do I get an invoice?"), mail);

    String user = api.signUpAndSignIn("user-" + System.nanoTime() + "@example.com");
    assertEquals(404, api.call(HttpMethod.GET, "/api/admin/contact-messages", user, null).statusCode(),
        "hidden from non-admins");
    String adminEmail = "root-" + System.nanoTime() + "@example.com";
    String admin = api.signUpAndSignIn(adminEmail);
    api.gateway().pool().preparedQuery("UPDATE users SET is_admin = true WHERE email = $1")
        .execute(Tuple.of(adminEmail)).await();
    HttpResponse<Buffer> listed = api.call(HttpMethod.GET, "/api/admin/contact-messages?limit=1", admin, null);
    assertEquals(200, listed.statusCode(), listed.bodyAsString());
    JsonObject first = listed.bodyAsJsonObject().getJsonArray("data").getJsonObject(0);
    assertEquals(id, first.getLong("id"));
    assertEquals("Ada Lovelace", first.getString("name"));
    // mailed_at is set after the message went out; the e-mail above has arrived, the row follows at once.
    long deadline = System.currentTimeMillis() + 5_000;
    while (!api.call(HttpMethod.GET, "/api/admin/contact-messages", admin, null).bodyAsJsonObject()
        .getJsonArray("data").getJsonObject(0).getBoolean("mailed") && System.currentTimeMillis() < deadline) {
      Sleep.ms(50);
    }
    assertEquals(true, api.call(HttpMethod.GET, "/api/admin/contact-messages", admin, null).bodyAsJsonObject()
        .getJsonArray("data").getJsonObject(0).getBoolean("mailed"));
  }

  @Test
  @DisplayName("PER_SENDER messages per sender address and PER_CLIENT per client address an hour, then 429 with "
      + "Retry-After; nothing more is stored or mailed")
  void rateLimited() {
    long before = stored(); // the table is not emptied between tests
    for (int i = 0; i < ContactRoutes.PER_SENDER; i++) {
      assertEquals(202, send("203.0.113.2", message("bob@example.com")).statusCode());
    }
    HttpResponse<Buffer> sender = send("203.0.113.3", message("bob@example.com"));
    assertEquals(429, sender.statusCode(), sender.bodyAsString());
    assertEquals("too_many_attempts", ApiClient.code(sender));
    long retry = Long.parseLong(sender.getHeader("Retry-After"));
    assertTrue(retry > 0 && retry <= 3600, "Retry-After " + retry);

    for (int i = 0; i < ContactRoutes.PER_CLIENT; i++) {
      assertEquals(202, send("203.0.113.4", message("c" + i + "@example.com")).statusCode());
    }
    HttpResponse<Buffer> client = send("203.0.113.4", message("new@example.com"));
    assertEquals(429, client.statusCode(), client.bodyAsString());
    assertTrue(client.getHeader("Retry-After") != null);
    assertEquals(before + ContactRoutes.PER_SENDER + ContactRoutes.PER_CLIENT, stored());
    assertEquals(202, send("203.0.113.5", message("new@example.com")).statusCode(), "other addresses still may");
  }

  @Test
  @DisplayName("bad input is a 400 naming the field, and nothing is stored")
  void badInput() {
    long before = stored();
    Map<String, JsonObject> cases = Map.of(
        "message", message("a@example.com").put("message", "x".repeat(ContactInput.MAX_MESSAGE + 1)),
        "name", message("a@example.com").put("name", "Ada\u0000"),
        "email", message("not-an-address"),
        "topic", message("a@example.com").put("topic", "sales"),
        "extra", message("a@example.com").put("extra", 1));
    cases.forEach((field, body) -> {
      HttpResponse<Buffer> r = send("203.0.113.6", body);
      assertEquals(400, r.statusCode(), field + ": " + r.bodyAsString());
      assertEquals(field, r.bodyAsJsonObject().getJsonObject("error").getString("param"), field);
    });
    HttpResponse<Buffer> missing = send("203.0.113.6", new JsonObject().put("name", "A").put("email", "a@b.co"));
    assertEquals(400, missing.statusCode());
    assertEquals("message", missing.bodyAsJsonObject().getJsonObject("error").getString("param"));
    HttpResponse<Buffer> notJson = api.gateway().client().post("/api/contact").putHeader("content-type",
        "application/json").sendBuffer(Buffer.buffer("{\"name\":")).await();
    assertEquals(400, notJson.statusCode());
    assertEquals(before, stored());
  }
}
