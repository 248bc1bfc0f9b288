package ai.gpt.api.playground;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.auth.ApiKeyFormat;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.Sleep;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Playground sessions through real HTTP, PostgreSQL and Redis, and their keys used on /v1 like any key. */
@ExtendWith(VertxExtension.class)
class PlaygroundApiTest {
  private ApiUsers users;
  private FakeLlamaServer fake;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    users = ApiUsers.start(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().embeddings(true)).await();
    users.gw.addBackend("gpt-fast", fake);
    users.gw.addBackend("embed", fake);
  }

  @AfterEach
  void stop() {
    users.close();
    fake.close().await();
  }

  private static String session(long orgId) {
    return "/api/orgs/" + orgId + "/playground/session";
  }

  private JsonObject mint(User user, long orgId) {
    HttpResponse<Buffer> resp = users.call("POST", session(orgId), user.token(), null);
    assertEquals(201, resp.statusCode(), resp.bodyAsString());
    return resp.bodyAsJsonObject();
  }

  @Test
  @DisplayName("any member mints a 15-minute chat-only key, not listed with the keys; non-members get 404")
  void mintingRules() {
    User owner = users.signUp("owner@example.com");
    User member = users.signUp("member@example.com");
    User stranger = users.signUp("stranger@example.com");
    users.addMember(owner.orgId(), member, "member");
    users.gw.credit(owner.orgId(), 10_000_000);

    Instant before = Instant.now();
    JsonObject minted = mint(member, owner.orgId());
    assertEquals("playground_session", minted.getString("object"));
    String key = minted.getString("key");
    assertEquals(minted.getString("key_id"), ApiKeyFormat.parse(key).publicId());
    assertEquals(900, minted.getInteger("expires_in"));
    Instant expires = Instant.parse(minted.getString("expires_at"));
    assertTrue(Duration.between(before, expires).toSeconds() >= 890
        && Duration.between(before, expires).toSeconds() <= 910, "expires in 15 minutes: " + expires);
    Row row = users.gw.pool().preparedQuery("SELECT kind, name, created_by, org_id FROM api_keys WHERE public_id = $1")
        .execute(Tuple.of(minted.getString("key_id"))).await().iterator().next();
    assertEquals("playground", row.getString("kind"));
    assertEquals("Playground", row.getString("name"));
    assertEquals(member.id(), row.getLong("created_by"));
    assertEquals(owner.orgId(), row.getLong("org_id"));

    assertEquals(404, users.call("POST", session(owner.orgId()), stranger.token(), null).statusCode(),
        "a non-member sees the organization as unknown");
    assertEquals(401, users.call("POST", session(owner.orgId()), null, null).statusCode());
    assertEquals(401, users.call("POST", session(owner.orgId()), key, null).statusCode(),
        "a key is no session: it cannot mint (nor call any other /api route)");
    assertEquals(401, users.call("GET", "/api/orgs/" + owner.orgId() + "/keys", key, null).statusCode());
    assertEquals(401, users.call("GET", "/api/admin/users", key, null).statusCode());

    // Chat and the model list work; every other /v1 endpoint is refused before reaching a backend.
    assertEquals(200, users.gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode());
    assertEquals(200, users.gw.get("/v1/models", key).statusCode());
    HttpResponse<Buffer> embeddings = users.gw.post("/v1/embeddings", key,
        new JsonObject().put("model", "embed").put("input", "hello"));
    assertEquals(403, embeddings.statusCode(), embeddings.bodyAsString());
    assertEquals("key_scope", code(embeddings));
    HttpResponse<Buffer> completions = users.gw.post("/v1/completions", key,
        new JsonObject().put("model", "gpt-fast").put("prompt", "hello"));
    assertEquals(403, completions.statusCode());

    // Not among the keys customers manage.
    JsonArray listed = users.call("GET", "/api/orgs/" + owner.orgId() + "/keys", owner.token(), null)
        .bodyAsJsonObject().getJsonArray("data");
    assertEquals(0, listed.size(), listed.encode());

    // Minting again replaces the caller's previous key at once.
    String second = mint(member, owner.orgId()).getString("key");
    GatewayHarness.awaitTrue("the replaced key refused",
        () -> users.gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode() == 401);
    assertEquals(200, users.gw.post("/v1/chat/completions", second, chat("gpt-fast")).statusCode());

    // Ending the session revokes it too.
    assertEquals(204, users.call("DELETE", session(owner.orgId()), member.token(), null).statusCode());
    GatewayHarness.awaitTrue("the ended key refused",
        () -> users.gw.post("/v1/chat/completions", second, chat("gpt-fast")).statusCode() == 401);
  }

  @Test
  @DisplayName("an expired playground key gets 401; signing out revokes the keys of that session")
  void expiryAndSignOut() {
    User ada = users.signUp("ada@example.com");
    users.gw.credit(ada.orgId(), 10_000_000);
    JsonObject minted = mint(ada, ada.orgId());
    String key = minted.getString("key");
    // Brought forward to now + 2 s before the gateway has ever seen (and cached) the key.
    users.gw.pool().preparedQuery("UPDATE api_keys SET expires_at = now() + interval '2 seconds' WHERE public_id = $1")
        .execute(Tuple.of(minted.getString("key_id"))).await();
    assertEquals(200, users.gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode());
    Sleep.ms(2_100);
    HttpResponse<Buffer> expired = users.gw.post("/v1/chat/completions", key, chat("gpt-fast"));
    assertEquals(401, expired.statusCode());
    assertEquals("invalid_api_key", code(expired));

    String fresh = mint(ada, ada.orgId()).getString("key");
    assertEquals(204, users.call("POST", "/api/auth/signout", ada.token(), null).statusCode());
    String status = users.gw.pool().preparedQuery("SELECT status FROM api_keys WHERE public_id = $1")
        .execute(Tuple.of(ApiKeyFormat.parse(fresh).publicId())).await().iterator().next().getString(0);
    assertEquals("revoked", status, "the session's end revoked its playground key");
    assertEquals(401, users.gw.post("/v1/chat/completions", fresh, chat("gpt-fast")).statusCode());
  }

  @Test
  @DisplayName("a member removed from the organization, or leaving it, loses the playground key minted there")
  void removalRevokes() {
    User owner = users.signUp("own@example.com");
    User removed = users.signUp("gone@example.com");
    User leaver = users.signUp("leaver@example.com");
    users.addMember(owner.orgId(), removed, "member");
    users.addMember(owner.orgId(), leaver, "admin");
    users.gw.credit(owner.orgId(), 10_000_000);
    String removedKey = mint(removed, owner.orgId()).getString("key");
    String leaverKey = mint(leaver, owner.orgId()).getString("key");
    String ownKey = mint(removed, removed.orgId()).getString("key"); // the removed member's own organization
    assertEquals(204, users.call("DELETE", "/api/orgs/" + owner.orgId() + "/members/" + removed.id(), owner.token(),
        null).statusCode());
    assertEquals(204, users.call("POST", "/api/orgs/" + owner.orgId() + "/leave", leaver.token(), null).statusCode());
    for (String key : List.of(removedKey, leaverKey)) {
      String status = users.gw.pool().preparedQuery("SELECT status FROM api_keys WHERE public_id = $1")
          .execute(Tuple.of(ApiKeyFormat.parse(key).publicId())).await().iterator().next().getString(0);
      assertEquals("revoked", status, "leaving the organization revoked the playground key minted there");
      assertEquals(401, users.gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode());
    }
    users.gw.credit(removed.orgId(), 10_000_000);
    assertEquals(200, users.gw.post("/v1/chat/completions", ownKey, chat("gpt-fast")).statusCode(),
        "a playground key of another organization is untouched");
  }

  @Test
  @DisplayName("minting is limited per user: the 31st in an hour gets 429 with Retry-After")
  void mintingIsRateLimited() {
    User bo = users.signUp("bo@example.com");
    for (int i = 0; i < PlaygroundRoutes.MINTS_PER_WINDOW; i++) {
      mint(bo, bo.orgId());
    }
    HttpResponse<Buffer> refused = users.call("POST", session(bo.orgId()), bo.token(), null);
    assertEquals(429, refused.statusCode());
    assertEquals("too_many_attempts", code(refused));
    assertNotNull(refused.getHeader("Retry-After"));
    long live = users.gw.pool().preparedQuery("SELECT count(*) FROM api_keys WHERE org_id = $1 AND status = 'active'")
        .execute(Tuple.of(bo.orgId())).await().iterator().next().getLong(0);
    assertEquals(1, live, "each mint replaced the previous key");
  }

  @Test
  @DisplayName("a streamed playground call is metered and billed exactly like the same call with an API key")
  void billedLikeAKey() {
    User cy = users.signUp("cy@example.com");
    users.gw.credit(cy.orgId(), 10_000_000);
    HttpResponse<Buffer> created = users.call("POST", "/api/orgs/" + cy.orgId() + "/keys", cy.token(),
        new JsonObject().put("name", "ci"));
    assertEquals(201, created.statusCode());
    String apiKey = created.bodyAsJsonObject().getString("key");
    String playgroundKey = mint(cy, cy.orgId()).getString("key");
    JsonObject body = new JsonObject().put("model", "gpt-fast").put("stream", true)
        .put("stream_options", new JsonObject().put("include_usage", true))
        .put("messages", new JsonArray()
            .add(new JsonObject().put("role", "system").put("content", "Be brief."))
            .add(new JsonObject().put("role", "user").put("content", "Hello there")));

    long start = users.gw.ledgerBalance(cy.orgId());
    List<String> streams = new ArrayList<>();
    List<List<String>> limitHeaders = new ArrayList<>();
    for (String key : List.of(apiKey, playgroundKey)) {
      HttpResponse<Buffer> resp = users.gw.post("/v1/chat/completions", key, body);
      assertEquals(200, resp.statusCode(), resp.bodyAsString());
      assertTrue(resp.getHeader("content-type").startsWith("text/event-stream"));
      limitHeaders.add(resp.headers().names().stream().map(String::toLowerCase)
          .filter(h -> h.startsWith("x-ratelimit-")).sorted().toList());
      streams.add(resp.bodyAsString());
    }
    assertEquals(limitHeaders.get(0), limitHeaders.get(1), "the same limits answer the same headers");
    for (String stream : streams) {
      assertTrue(stream.contains("\"usage\"") && stream.trim().endsWith("data: [DONE]"), stream);
    }
    GatewayHarness.awaitTrue("both usage rows", () -> users.gw.usageRows(cy.orgId()) == 2);
    List<JsonObject> rows = new ArrayList<>();
    users.gw.pool().preparedQuery("SELECT k.kind, u.model, u.endpoint, u.prompt_tokens, u.completion_tokens, "
            + "u.cost_micros, u.status, u.estimated FROM usage u JOIN api_keys k ON k.id = u.key_id "
            + "WHERE u.org_id = $1 ORDER BY k.kind DESC")
        .execute(Tuple.of(cy.orgId())).await().forEach(r -> rows.add(r.toJson()));
    assertEquals("standard", rows.get(0).remove("kind"));
    assertEquals("playground", rows.get(1).remove("kind"));
    assertEquals(rows.get(0), rows.get(1), "the same usage row but for the key");
    long cost = rows.get(0).getLong("cost_micros");
    assertTrue(cost > 0);
    GatewayHarness.awaitTrue("both debits in the ledger",
        () -> users.gw.ledgerBalance(cy.orgId()) == start - 2 * cost);

    // Usage names the key "Playground".
    JsonArray byKey = users.call("GET", "/api/orgs/" + cy.orgId() + "/usage/summary?group_by=key", cy.token(), null)
        .bodyAsJsonObject().getJsonArray("rows");
    assertTrue(byKey.stream().map(JsonObject.class::cast)
        .anyMatch(r -> "Playground".equals(r.getString("key_name")) && r.getLong("cost_micros") == cost),
        byKey.encode());
    assertFalse(byKey.isEmpty());
  }
}
