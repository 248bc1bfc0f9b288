package ai.gpt.api.account;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.ApiClient;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Routes that send e-mail are limited per recipient (silently: same answer, no mail) and per sender (429). The
 * gateway trusts 127.0.0.1 as a proxy here, so each request can name its client address in X-Forwarded-For.
 */
@ExtendWith(VertxExtension.class)
class MailLimitsTest {
  private ApiClient api;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    api = ApiClient.start(vertx, Map.of("TRUSTED_PROXIES", "127.0.0.1"));
  }

  @AfterEach
  void stop() {
    api.close();
  }

  private HttpResponse<Buffer> post(String path, String client, JsonObject body) {
    return api.gateway().client().post(path).putHeader("X-Forwarded-For", client).sendJsonObject(body).await();
  }

  private HttpResponse<Buffer> signUp(String client, String email) {
    return post("/api/auth/signup", client, new JsonObject().put("email", email).put("password", ApiClient.PASSWORD));
  }

  private HttpResponse<Buffer> forgot(String client, String email) {
    return post("/api/auth/password/forgot", client, new JsonObject().put("email", email));
  }

  /** Status and body, the whole of what a client learns from an answer. */
  private static String answer(HttpResponse<Buffer> r) {
    return r.statusCode() + " " + r.bodyAsString();
  }

  @Test
  @DisplayName("an address gets at most PER_RECIPIENT mails per window; answers are the same for existing and "
      + "unknown addresses, over the limit or not")
  void perRecipient() {
    api.signUpAndSignIn("ada@example.com"); // one mail: the verification link
    Set<String> signUps = new HashSet<>();
    Set<String> forgots = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      String client = "192.0.2." + i; // a different client each time: only the recipient limit applies
      signUps.add(answer(signUp(client, "ada@example.com")));
      signUps.add(answer(signUp(client, "new" + i + "@example.com")));
      forgots.add(answer(forgot(client, "ada@example.com")));
      forgots.add(answer(forgot(client, "nobody@example.com")));
    }
    assertEquals(1, signUps.size(), "one answer to every sign-up: " + signUps);
    assertTrue(signUps.iterator().next().startsWith("202 "), signUps.toString());
    assertEquals(1, forgots.size(), "one answer to every forgot-password: " + forgots);
    assertTrue(forgots.iterator().next().startsWith("202 "), forgots.toString());
    assertEquals(MailLimits.PER_RECIPIENT, api.mailCountTo("ada@example.com"),
        "21 requests that would mail ada, at most PER_RECIPIENT mails");
    assertEquals(0, api.mailCountTo("nobody@example.com"));
  }

  @Test
  @DisplayName("a client address gets 429 too_many_attempts with Retry-After after PER_CLIENT mail requests, "
      + "whatever the address asked about; other clients are not affected")
  void perClientAddress() {
    String client = "203.0.113.5";
    for (int i = 0; i < MailLimits.PER_CLIENT; i++) {
      HttpResponse<Buffer> r = i % 2 == 0 ? signUp(client, "user" + i + "@example.com")
          : forgot(client, "user" + (i - 1) + "@example.com");
      assertEquals(202, r.statusCode(), r.bodyAsString());
    }
    HttpResponse<Buffer> refused = signUp(client, "late@example.com");
    assertEquals(429, refused.statusCode(), refused.bodyAsString());
    assertEquals("too_many_attempts", ApiClient.code(refused));
    long retryAfter = Long.parseLong(refused.getHeader("Retry-After"));
    assertTrue(retryAfter >= 1 && retryAfter <= MailLimits.WINDOW_MS / 1000, "Retry-After " + retryAfter);
    // Refused before any lookup: an existing and an unknown address get the very same answer.
    assertEquals(answer(forgot(client, "user0@example.com")), answer(forgot(client, "nobody@example.com")));
    assertEquals(0, api.mailCountTo("late@example.com"));
    assertEquals(202, signUp("203.0.113.6", "late@example.com").statusCode(), "another client is served");
  }

  @Test
  @DisplayName("invitations: 429 after PER_INVITER per inviting user; a recipient over its limit gets no mail")
  void invitations() {
    String ada = api.signUpAndSignIn("ada@example.com");
    long org = api.call(HttpMethod.GET, "/api/me", ada, null).bodyAsJsonObject()
        .getJsonArray("organizations").getJsonObject(0).getLong("id");
    for (int i = 0; i < MailLimits.PER_RECIPIENT; i++) {
      forgot("192.0.2.1", "bombed@example.com"); // counts against the recipient, though no account exists
    }
    String invitations = "/api/orgs/" + org + "/invitations";
    HttpResponse<Buffer> quiet = api.call(HttpMethod.POST, invitations, ada,
        new JsonObject().put("email", "bombed@example.com").put("role", "member"));
    assertEquals(201, quiet.statusCode(), "the invitation exists: " + quiet.bodyAsString());
    assertEquals(0, api.mailCountTo("bombed@example.com"));
    for (int i = 1; i < MailLimits.PER_INVITER; i++) {
      HttpResponse<Buffer> r = api.call(HttpMethod.POST, invitations, ada,
          new JsonObject().put("email", "guest" + i + "@example.com").put("role", "member"));
      assertEquals(201, r.statusCode(), r.bodyAsString());
    }
    HttpResponse<Buffer> refused = api.call(HttpMethod.POST, invitations, ada,
        new JsonObject().put("email", "one-too-many@example.com").put("role", "member"));
    assertEquals(429, refused.statusCode(), refused.bodyAsString());
    assertEquals("too_many_attempts", ApiClient.code(refused));
    assertTrue(refused.getHeader("Retry-After") != null);
    assertEquals(0, api.mailCountTo("one-too-many@example.com"));
  }
}
