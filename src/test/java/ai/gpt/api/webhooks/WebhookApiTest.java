package ai.gpt.api.webhooks;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.apikeys.ApiUsers.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The endpoints API over real HTTP and PostgreSQL: CRUD, secrets, validation, roles and tenant isolation. */
@ExtendWith(VertxExtension.class)
class WebhookApiTest {
  private ApiUsers users;
  private User ada;
  private String base;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    users = ApiUsers.start(vertx, Map.of("WEBHOOK_ALLOW_LOOPBACK", "true"));
    users.gw.pool().query("TRUNCATE webhook_outbox").execute().await();
    ada = users.signUp("ada@example.com");
    base = "/api/orgs/" + ada.orgId() + "/webhooks";
  }

  @AfterEach
  void stop() {
    users.close();
  }

  private static JsonObject endpoint(String url, String... events) {
    return new JsonObject().put("url", url).put("events", new JsonArray(java.util.List.of((Object[]) events)));
  }

  @Test
  @DisplayName("the event types an endpoint may subscribe to are listed for any signed-in user, without webhook.test")
  void eventTypes() {
    HttpResponse<Buffer> types = users.call("GET", "/api/webhooks/event-types", ada.token(), null);
    assertEquals(200, types.statusCode(), types.bodyAsString());
    assertEquals(new JsonArray(EventTypes.ALL), types.bodyAsJsonObject().getJsonArray("data"));
    assertFalse(types.bodyAsJsonObject().getJsonArray("data").contains(EventTypes.TEST));
    assertEquals(401, users.call("GET", "/api/webhooks/event-types", null, null).statusCode());
  }

  @Test
  @DisplayName("create shows a whsec_ secret once (sealed at rest); get, list, patch, delete never show it")
  void crud() {
    HttpResponse<Buffer> created = users.call("POST", base, ada.token(),
        endpoint("https://127.0.0.1:9/hook", "usage.recorded", "key.created").put("description", "billing sync"));
    assertEquals(201, created.statusCode(), created.bodyAsString());
    JsonObject ep = created.bodyAsJsonObject();
    String secret = ep.getString("secret");
    assertTrue(secret.startsWith("whsec_"), secret);
    assertTrue(Base64.getDecoder().decode(secret.substring(6)).length >= 24, "at least 24 random bytes");
    assertEquals("webhook_endpoint", ep.getString("object"));
    assertEquals("billing sync", ep.getString("description"));
    assertEquals(new JsonArray().add("usage.recorded").add("key.created"), ep.getJsonArray("events"));
    assertTrue(ep.getBoolean("enabled"));
    long id = ep.getLong("id");

    byte[] stored = users.gw.pool().preparedQuery("SELECT secret FROM webhook_endpoints WHERE id = $1")
        .execute(Tuple.of(id)).await().iterator().next().getBuffer(0).getBytes();
    String secretPart = secret.substring(6);
    assertFalse(new String(stored, StandardCharsets.ISO_8859_1).contains(secretPart), "encrypted at rest");
    assertFalse(new String(stored, StandardCharsets.ISO_8859_1).contains("whsec_"), "encrypted at rest");

    HttpResponse<Buffer> one = users.call("GET", base + "/" + id, ada.token(), null);
    assertEquals(200, one.statusCode());
    assertFalse(one.bodyAsString().contains(secretPart));
    assertNull(one.bodyAsJsonObject().getValue("secret"));
    HttpResponse<Buffer> list = users.call("GET", base, ada.token(), null);
    assertEquals(1, list.bodyAsJsonObject().getJsonArray("data").size());
    assertFalse(list.bodyAsString().contains(secretPart));

    HttpResponse<Buffer> patched = users.call("PATCH", base + "/" + id, ada.token(), new JsonObject()
        .put("events", new JsonArray().add("credits.added")).put("enabled", false).put("description", ""));
    assertEquals(200, patched.statusCode(), patched.bodyAsString());
    assertEquals(new JsonArray().add("credits.added"), patched.bodyAsJsonObject().getJsonArray("events"));
    assertFalse(patched.bodyAsJsonObject().getBoolean("enabled"));
    assertEquals("", patched.bodyAsJsonObject().getString("description"));
    assertFalse(patched.bodyAsString().contains(secretPart));

    HttpResponse<Buffer> rotated = users.call("POST", base + "/" + id + "/rotate-secret", ada.token(), null);
    assertEquals(200, rotated.statusCode(), rotated.bodyAsString());
    String newSecret = rotated.bodyAsJsonObject().getString("secret");
    assertTrue(newSecret.startsWith("whsec_") && !newSecret.equals(secret));
    assertTrue(rotated.bodyAsJsonObject().getString("previous_secret_expires_at") != null);

    assertEquals(204, users.call("DELETE", base + "/" + id, ada.token(), null).statusCode());
    assertEquals(404, users.call("GET", base + "/" + id, ada.token(), null).statusCode());
    assertEquals(404, users.call("DELETE", base + "/" + id, ada.token(), null).statusCode());
  }

  @Test
  @DisplayName("strict validation: URL form and address, event types, sizes, unknown fields, count per org")
  void validation() {
    String[][] badUrls = {
        {"ftp://example.com/x", "https://"},
        {"https://user:pw@127.0.0.1/x", "user name"},
        {"https://127.0.0.1/x#frag", "fragment"},
        {"https:///nohost", "host"},
        {"https://10.1.2.3/x", "private"},
        {"https://169.254.169.254/latest/meta-data", "cloud metadata"},
        {"https://[fd00:ec2::254]/", "cloud metadata"},
        {"https://[::ffff:192.168.1.1]/", "private"},
        {"https://100.64.0.1/", "carrier-grade NAT"},
        {"https://0.0.0.0/", "unspecified"},
        {"https://no-such-host.invalid/", "does not resolve"},
        {"https://example.com/" + "a".repeat(2100), "longer"},
        {"https://1.1.1.1:0/x", "port"},
        {"https://1.1.1.1:65536/x", "port"},
        {"https://1.1.1.1:99999/x", "port"},
    };
    for (String[] bad : badUrls) {
      HttpResponse<Buffer> r = users.call("POST", base, ada.token(), endpoint(bad[0], "key.created"));
      assertEquals(400, r.statusCode(), bad[0]);
      assertEquals("url", param(r), bad[0]);
      assertTrue(r.bodyAsString().contains(bad[1]), bad[0] + " → " + r.bodyAsString());
    }
    String ok = "http://127.0.0.1:9/ok";
    assertEquals("events", param(users.call("POST", base, ada.token(), endpoint(ok))));
    assertEquals("events", param(users.call("POST", base, ada.token(), endpoint(ok, "usage.everything"))));
    assertEquals("events", param(users.call("POST", base, ada.token(), endpoint(ok, "key.created", "key.created"))));
    assertEquals("events", param(users.call("POST", base, ada.token(),
        new JsonObject().put("url", ok).put("events", "key.created"))));
    assertEquals("description", param(users.call("POST", base, ada.token(),
        endpoint(ok, "key.created").put("description", "x".repeat(501)))));
    assertEquals("description", param(users.call("POST", base, ada.token(),
        endpoint(ok, "key.created").put("description", 5))));
    HttpResponse<Buffer> nul = users.call("POST", base, ada.token(),
        endpoint(ok, "key.created").put("description", "a\u0000b"));
    assertEquals(400, nul.statusCode(), nul.bodyAsString()); // PostgreSQL refuses NUL in text: was a 500
    assertEquals("description", param(nul));
    assertEquals("secret", param(users.call("POST", base, ada.token(),
        endpoint(ok, "key.created").put("secret", "whsec_mine"))));
    assertEquals("invalid_json", code(users.gw.client().post(base).bearerTokenAuthentication(ada.token())
        .sendBuffer(Buffer.buffer("[1]")).await()));

    long id = users.call("POST", base, ada.token(), endpoint(ok, "key.created")).bodyAsJsonObject().getLong("id");
    assertEquals(400, users.call("PATCH", base + "/" + id, ada.token(), new JsonObject()).statusCode());
    assertEquals("enabled", param(users.call("PATCH", base + "/" + id, ada.token(),
        new JsonObject().put("enabled", "yes"))));
    assertEquals("url", param(users.call("PATCH", base + "/" + id, ada.token(),
        new JsonObject().put("url", "https://192.168.0.10/"))));
    HttpResponse<Buffer> patchNul = users.call("PATCH", base + "/" + id, ada.token(),
        new JsonObject().put("description", "line\u0007bell"));
    assertEquals(400, patchNul.statusCode(), patchNul.bodyAsString());
    assertEquals("description", param(patchNul));
    for (String delivery : new String[] {"msg_%00", "msg_" + "a".repeat(3000), "x"}) {
      HttpResponse<Buffer> resend = users.call("POST", base + "/" + id + "/deliveries/" + delivery + "/resend",
          ada.token(), null);
      assertEquals(404, resend.statusCode(), delivery + " " + resend.bodyAsString()); // a NUL was a 500
    }
    assertEquals(404, users.call("GET", base + "/abc", ada.token(), null).statusCode());
    assertEquals(400, users.call("GET", base + "/" + id + "/deliveries?status=lost", ada.token(), null).statusCode());
    assertEquals(400, users.call("GET", base + "/" + id + "/deliveries?limit=1000", ada.token(), null).statusCode());

    for (int i = 1; i < EndpointStore.MAX_PER_ORG; i++) {
      assertEquals(201, users.call("POST", base, ada.token(), endpoint(ok, "key.created")).statusCode());
    }
    HttpResponse<Buffer> tooMany = users.call("POST", base, ada.token(), endpoint(ok, "key.created"));
    assertEquals(409, tooMany.statusCode());
    assertEquals("too_many_webhook_endpoints", code(tooMany));
  }

  @Test
  @DisplayName("another organization's endpoint is 404 on every route; a member (not admin) gets 403")
  void isolation() {
    User bob = users.signUp("bob@example.com");
    long bobs = users.call("POST", "/api/orgs/" + bob.orgId() + "/webhooks", bob.token(),
        endpoint("http://127.0.0.1:9/bob", "key.created")).bodyAsJsonObject().getLong("id");
    String[][] routes = {
        {"GET", ""}, {"PATCH", ""}, {"DELETE", ""}, {"POST", "/rotate-secret"}, {"POST", "/test"},
        {"GET", "/deliveries"}, {"POST", "/deliveries/msg_x/resend"}};
    for (String[] route : routes) {
      // Bob's endpoint id under Ada's organization: not found, as if it did not exist
      HttpResponse<Buffer> r = users.call(route[0], base + "/" + bobs + route[1], ada.token(),
          route[0].equals("PATCH") ? new JsonObject().put("enabled", false) : null);
      assertEquals(404, r.statusCode(), route[0] + route[1] + " " + r.bodyAsString());
      // Ada on Bob's organization: not a member
      assertEquals(404, users.call(route[0], "/api/orgs/" + bob.orgId() + "/webhooks/" + bobs + route[1],
          ada.token(), route[0].equals("PATCH") ? new JsonObject().put("enabled", false) : null).statusCode());
    }
    assertEquals(404, users.call("GET", "/api/orgs/" + bob.orgId() + "/webhooks", ada.token(), null).statusCode());
    assertTrue(users.gw.pool().preparedQuery("SELECT enabled FROM webhook_endpoints WHERE id = $1")
        .execute(Tuple.of(bobs)).await().iterator().next().getBoolean(0), "unchanged");

    users.addMember(bob.orgId(), ada, "member");
    HttpResponse<Buffer> member = users.call("GET", "/api/orgs/" + bob.orgId() + "/webhooks", ada.token(), null);
    assertEquals(403, member.statusCode());
    assertEquals("insufficient_role", code(member));
  }
}
