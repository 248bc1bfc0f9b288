package ai.gpt.api.apikeys;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.apikeys.ApiUsers.param;
import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.testing.FakeLlamaServer;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The key API through real HTTP, PostgreSQL and Redis, and the keys it makes used on the gateway. */
@ExtendWith(VertxExtension.class)
class KeyApiTest {
  private ApiUsers users;
  private FakeLlamaServer fake;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    users = ApiUsers.start(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
    users.gw.addBackend("gpt-fast", fake);
  }

  @AfterEach
  void stop() {
    users.close();
    fake.close().await();
  }

  @Test
  @DisplayName("an organization holds at most MAX_KEYS keys that are not revoked, also when creates race: 409 "
      + "too_many_keys, and revoking one makes room")
  void keyCap() {
    User ada = users.signUp("ada@example.com");
    String keys = "/api/orgs/" + ada.orgId() + "/keys";
    // Three short of the cap, one of the seeded keys disabled (it still counts: it can be enabled again).
    users.gw.pool().preparedQuery("INSERT INTO api_keys (public_id, secret_hash, org_id, status) SELECT 'seed' || g, "
        + "'x', $1, CASE WHEN g = 1 THEN 'disabled' ELSE 'active' END FROM generate_series(1, $2) g")
        .execute(Tuple.of(ada.orgId(), KeyRoutes.MAX_KEYS - 3)).await();
    List<io.vertx.core.Future<HttpResponse<Buffer>>> racing = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      racing.add(users.gw.client().post(keys).bearerTokenAuthentication(ada.token())
          .sendJsonObject(new JsonObject().put("name", "k" + i)));
    }
    io.vertx.core.Future.join(racing).await();
    Map<Integer, Integer> byStatus = new HashMap<>();
    racing.forEach(f -> byStatus.merge(f.result().statusCode(), 1, Integer::sum));
    assertEquals(Map.of(201, 3, 409, 3), byStatus, "exactly the three that fit");
    HttpResponse<Buffer> full = users.call("POST", keys, ada.token(), new JsonObject().put("name", "one more"));
    assertEquals(409, full.statusCode(), full.bodyAsString());
    assertEquals("too_many_keys", code(full));

    assertEquals(200, users.call("DELETE", keys + "/seed2", ada.token(), null).statusCode());
    assertEquals(201, users.call("POST", keys, ada.token(), new JsonObject().put("name", "room")).statusCode());
  }

  @Test
  @DisplayName("create a key, use it, list it without its secret; disable stops it within 1 s; revoke is permanent")
  void lifecycle() {
    User ada = users.signUp("ada@example.com");
    users.gw.credit(ada.orgId(), 10_000_000);
    String keys = "/api/orgs/" + ada.orgId() + "/keys";
    HttpResponse<Buffer> created = users.call("POST", keys, ada.token(), new JsonObject().put("name", "ci")
        .put("limits", new JsonObject().put("rpm", 100).put("concurrency", 4)));
    assertEquals(201, created.statusCode(), created.bodyAsString());
    JsonObject key = created.bodyAsJsonObject();
    String secret = key.getString("key");
    String id = key.getString("id");
    assertTrue(secret.startsWith("gpt_live_" + id + "_"), secret);
    assertEquals("active", key.getString("status"));
    assertEquals(100L, key.getJsonObject("limits").getLong("rpm"));
    assertEquals(4L, key.getJsonObject("limits").getLong("concurrency"));
    assertNull(key.getJsonObject("limits").getLong("tpm"));
    assertNull(key.getValue("allowed_models"));

    assertEquals(200, users.gw.post("/v1/chat/completions", secret, chat("gpt-fast")).statusCode());

    HttpResponse<Buffer> listed = users.call("GET", keys, ada.token(), null);
    assertEquals(200, listed.statusCode());
    String hash = users.gw.pool().preparedQuery("SELECT secret_hash FROM api_keys WHERE public_id = $1")
        .execute(Tuple.of(id)).await().iterator().next().getString(0);
    String secretPart = secret.substring(secret.lastIndexOf('_') + 1);
    assertFalse(listed.bodyAsString().contains(secretPart), "the list never shows the secret");
    assertFalse(listed.bodyAsString().contains(hash), "nor its hash");
    JsonArray data = listed.bodyAsJsonObject().getJsonArray("data");
    assertEquals(1, data.size());
    JsonObject item = data.getJsonObject(0);
    assertEquals(id, item.getString("id"));
    assertEquals("ci", item.getString("name"));
    assertFalse(item.containsKey("key"));
    assertNotNull(item.getString("created_at"));
    assertTrue(item.containsKey("last_used_at") && item.containsKey("expires_at"));

    HttpResponse<Buffer> disabled = users.call("PATCH", keys + "/" + id, ada.token(),
        new JsonObject().put("status", "disabled"));
    assertEquals(200, disabled.statusCode(), disabled.bodyAsString());
    long t0 = System.nanoTime();
    waitForStatus(secret, 401);
    assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "a disabled key stops working within a second");

    assertEquals(200, users.call("PATCH", keys + "/" + id, ada.token(), new JsonObject().put("status", "active")
        .put("name", "ci-2").put("limits", new JsonObject().put("rpm", null))).statusCode());
    waitForStatus(secret, 200);
    JsonObject after = users.call("GET", keys, ada.token(), null).bodyAsJsonObject().getJsonArray("data")
        .getJsonObject(0);
    assertEquals("ci-2", after.getString("name"));
    assertNull(after.getJsonObject("limits").getLong("rpm"), "null clears a limit");
    assertEquals(4L, after.getJsonObject("limits").getLong("concurrency"), "untouched limits stay");

    HttpResponse<Buffer> revoked = users.call("DELETE", keys + "/" + id, ada.token(), null);
    assertEquals(200, revoked.statusCode());
    assertEquals("revoked", revoked.bodyAsJsonObject().getString("status"));
    t0 = System.nanoTime();
    waitForStatus(secret, 401);
    assertTrue(System.nanoTime() - t0 < 1_000_000_000L);
    HttpResponse<Buffer> revive = users.call("PATCH", keys + "/" + id, ada.token(),
        new JsonObject().put("status", "active"));
    assertEquals(409, revive.statusCode());
    assertEquals("key_revoked", code(revive));
    assertEquals(401, users.gw.post("/v1/chat/completions", secret, chat("gpt-fast")).statusCode());
  }

  @Test
  @DisplayName("bad input gets 400 naming the field; allowed_models and expiry are stored and enforced")
  void validation() {
    User bo = users.signUp("bo@example.com");
    users.gw.credit(bo.orgId(), 10_000_000);
    String keys = "/api/orgs/" + bo.orgId() + "/keys";
    assertBad(keys, bo, new JsonObject(), "name");
    assertBad(keys, bo, new JsonObject().put("name", "x").put("allowed_models", new JsonArray().add("nope")),
        "allowed_models");
    assertBad(keys, bo, new JsonObject().put("name", "x").put("allowed_models", new JsonArray()), "allowed_models");
    assertBad(keys, bo, new JsonObject().put("name", "x").put("limits", new JsonObject().put("rpm", 0)),
        "limits.rpm");
    assertBad(keys, bo, new JsonObject().put("name", "x").put("limits", new JsonObject().put("tpd", "lots")),
        "limits.tpd");
    assertBad(keys, bo, new JsonObject().put("name", "x").put("limits", new JsonObject().put("speed", 3)),
        "limits.speed");
    assertBad(keys, bo, new JsonObject().put("name", "x").put("expires_at", "2001-01-01T00:00:00Z"), "expires_at");
    assertBad(keys, bo, new JsonObject().put("name", "x").put("expires_at", "tomorrow"), "expires_at");
    assertEquals(0, keyCount(bo.orgId()), "nothing was created");

    String expires = OffsetDateTime.now().plusDays(30).withNano(0).toInstant().toString();
    HttpResponse<Buffer> created = users.call("POST", keys, bo.token(), new JsonObject().put("name", "embed only")
        .put("allowed_models", new JsonArray().add("gpt-full")).put("expires_at", expires));
    assertEquals(201, created.statusCode(), created.bodyAsString());
    assertEquals(new JsonArray().add("gpt-full"), created.bodyAsJsonObject().getJsonArray("allowed_models"));
    assertEquals(expires, created.bodyAsJsonObject().getString("expires_at"));
    HttpResponse<Buffer> refused = users.gw.post("/v1/chat/completions", created.bodyAsJsonObject().getString("key"),
        chat("gpt-fast"));
    assertEquals(403, refused.statusCode(), "the key may use gpt-full only");

    String id = created.bodyAsJsonObject().getString("id");
    HttpResponse<Buffer> badStatus = users.call("PATCH", keys + "/" + id, bo.token(),
        new JsonObject().put("status", "revoked"));
    assertEquals(400, badStatus.statusCode());
    assertEquals("status", param(badStatus));
    assertEquals(400, users.call("PATCH", keys + "/" + id, bo.token(), new JsonObject()).statusCode());
    assertEquals(404, users.call("PATCH", keys + "/nosuchkey123", bo.token(),
        new JsonObject().put("name", "x")).statusCode());
    assertEquals(404, users.call("DELETE", keys + "/nosuchkey123", bo.token(), null).statusCode());
  }

  @Test
  @DisplayName("a member lists keys but cannot create, edit or revoke them (403); an admin can")
  void roles() {
    User owner = users.signUp("owner@example.com");
    User member = users.signUp("member@example.com");
    User admin = users.signUp("admin@example.com");
    users.addMember(owner.orgId(), member, "member");
    users.addMember(owner.orgId(), admin, "admin");
    String keys = "/api/orgs/" + owner.orgId() + "/keys";
    String id = users.call("POST", keys, owner.token(), new JsonObject().put("name", "k")).bodyAsJsonObject()
        .getString("id");

    HttpResponse<Buffer> create = users.call("POST", keys, member.token(), new JsonObject().put("name", "m"));
    assertEquals(403, create.statusCode());
    assertEquals("insufficient_role", code(create));
    assertEquals(403, users.call("PATCH", keys + "/" + id, member.token(), new JsonObject().put("name", "m"))
        .statusCode());
    assertEquals(403, users.call("DELETE", keys + "/" + id, member.token(), null).statusCode());
    HttpResponse<Buffer> listed = users.call("GET", keys, member.token(), null);
    assertEquals(200, listed.statusCode());
    assertEquals(1, listed.bodyAsJsonObject().getJsonArray("data").size());
    assertEquals(1, keyCount(owner.orgId()));
    assertEquals("active", status(id));

    assertEquals(201, users.call("POST", keys, admin.token(), new JsonObject().put("name", "a")).statusCode());
    assertEquals(200, users.call("DELETE", keys + "/" + id, admin.token(), null).statusCode());
    assertEquals("revoked", status(id));
  }

  @Test
  @DisplayName("tenant isolation: another organization's id or key id is 404 on every key route, and B is unchanged")
  void tenantIsolation() {
    User a = users.signUp("a@example.com");
    User b = users.signUp("b@example.com");
    users.gw.credit(b.orgId(), 10_000_000);
    String bKeys = "/api/orgs/" + b.orgId() + "/keys";
    JsonObject bKey = users.call("POST", bKeys, b.token(), new JsonObject().put("name", "b's")).bodyAsJsonObject();
    String bId = bKey.getString("id");
    String aKeys = "/api/orgs/" + a.orgId() + "/keys";

    assertNotFound(users.call("GET", bKeys, a.token(), null));
    assertNotFound(users.call("POST", bKeys, a.token(), new JsonObject().put("name", "mine now")));
    assertNotFound(users.call("POST", bKeys, a.token(), new JsonObject()));
    assertNotFound(users.call("PATCH", bKeys + "/" + bId, a.token(), new JsonObject().put("status", "disabled")));
    assertNotFound(users.call("DELETE", bKeys + "/" + bId, a.token(), null));
    // B's key id under A's own organization: not found either.
    assertNotFound(users.call("PATCH", aKeys + "/" + bId, a.token(), new JsonObject().put("status", "disabled")));
    assertNotFound(users.call("DELETE", aKeys + "/" + bId, a.token(), null));
    assertNotFound(users.call("GET", "/api/orgs/999999/keys", a.token(), null));
    assertNotFound(users.call("GET", "/api/orgs/abc/keys", a.token(), null));

    assertEquals(1, keyCount(b.orgId()));
    Row row = users.gw.pool().preparedQuery("SELECT name, status FROM api_keys WHERE public_id = $1")
        .execute(Tuple.of(bId)).await().iterator().next();
    assertEquals("b's", row.getString("name"));
    assertEquals("active", row.getString("status"));
    assertEquals(200, users.gw.post("/v1/chat/completions", bKey.getString("key"), chat("gpt-fast")).statusCode());
  }

  private void assertNotFound(HttpResponse<Buffer> resp) {
    assertEquals(404, resp.statusCode(), resp.bodyAsString());
    assertEquals("not_found", code(resp));
  }

  private void assertBad(String path, User user, JsonObject body, String field) {
    HttpResponse<Buffer> resp = users.call("POST", path, user.token(), body);
    assertEquals(400, resp.statusCode(), resp.bodyAsString());
    assertEquals(field, param(resp), resp.bodyAsString());
  }

  private long keyCount(long orgId) {
    return users.gw.pool().preparedQuery("SELECT count(*) FROM api_keys WHERE org_id = $1")
        .execute(Tuple.of(orgId)).await().iterator().next().getLong(0);
  }

  private String status(String publicId) {
    return users.gw.pool().preparedQuery("SELECT status FROM api_keys WHERE public_id = $1")
        .execute(Tuple.of(publicId)).await().iterator().next().getString(0);
  }

  /** Polls the gateway with the key until it answers {@code status}; fails after 2 s. */
  private void waitForStatus(String key, int status) {
    long deadline = System.currentTimeMillis() + 2_000;
    int last;
    do {
      last = users.gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode();
      if (last == status) {
        return;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    } while (System.currentTimeMillis() < deadline);
    throw new AssertionError("the key still answers " + last + ", expected " + status);
  }
}
