package ai.gpt.api.orgs;

import static ai.gpt.api.testing.ApiClient.code;
import static io.vertx.core.http.HttpMethod.DELETE;
import static io.vertx.core.http.HttpMethod.GET;
import static io.vertx.core.http.HttpMethod.PATCH;
import static io.vertx.core.http.HttpMethod.POST;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.account.SecretTokens;
import ai.gpt.api.testing.ApiClient;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Organizations, members and invitations through real HTTP, PostgreSQL, Redis and SMTP. */
@ExtendWith(VertxExtension.class)
class OrgApiTest {
  private static final String INVITED = "You are invited to join";
  private ApiClient api;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    api = ApiClient.start(vertx);
  }

  @AfterEach
  void stop() {
    api.close();
  }

  @Test
  @DisplayName("a user owns at most MAX_OWNED organizations, also when creates race: 409 too_many_organizations")
  void ownershipCap() {
    String ada = api.signUpAndSignIn("ada@example.com");
    long adaId = userId("ada@example.com");
    long owned = api.gateway().pool().preparedQuery("SELECT count(*) FROM memberships WHERE user_id = $1 "
        + "AND role = 'owner'").execute(Tuple.of(adaId)).await().iterator().next().getLong(0);
    api.gateway().pool().preparedQuery("WITH o AS (INSERT INTO organizations (name) SELECT 'seed-' || g "
            + "FROM generate_series(1, $2) g RETURNING id) "
            + "INSERT INTO memberships (org_id, user_id, role) SELECT id, $1, 'owner' FROM o")
        .execute(Tuple.of(adaId, OrgStore.MAX_OWNED - 2 - owned)).await();
    List<io.vertx.core.Future<HttpResponse<Buffer>>> racing = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      racing.add(api.gateway().client().post("/api/orgs").bearerTokenAuthentication(ada)
          .sendJsonObject(new JsonObject().put("name", "race " + i)));
    }
    io.vertx.core.Future.join(racing).await();
    List<Integer> statuses = new ArrayList<>();
    racing.forEach(f -> statuses.add(f.result().statusCode()));
    assertEquals(2, statuses.stream().filter(c -> c == 201).count(), "exactly the two that fit: " + statuses);
    assertEquals(3, statuses.stream().filter(c -> c == 409).count(), statuses.toString());
    HttpResponse<Buffer> full = call(POST, "/api/orgs", ada, new JsonObject().put("name", "one more"));
    assertEquals(409, full.statusCode(), full.bodyAsString());
    assertEquals("too_many_organizations", code(full));
  }

  @Test
  @DisplayName("create an organization, invite by e-mail, the invitee signs up and accepts; tokens are single-use")
  void createInviteAccept() {
    String ada = api.signUpAndSignIn("ada@example.com");
    HttpResponse<Buffer> created = call(POST, "/api/orgs", ada, new JsonObject().put("name", " Acme "));
    assertEquals(201, created.statusCode(), created.bodyAsString());
    JsonObject org = created.bodyAsJsonObject();
    long acme = org.getLong("id");
    assertEquals("Acme", org.getString("name"));
    assertEquals("owner", org.getString("role"));
    assertEquals("default", org.getString("plan_id"));
    assertEquals(409, call(POST, "/api/orgs", ada, new JsonObject().put("name", "Acme")).statusCode());
    assertEquals(400, call(POST, "/api/orgs", ada, new JsonObject()).statusCode());

    JsonArray mine = call(GET, "/api/orgs", ada, null).bodyAsJsonObject().getJsonArray("data");
    assertEquals(2, mine.size(), "the personal organization and Acme");
    assertEquals(acme, mine.getJsonObject(1).getLong("id"));
    assertEquals("owner", mine.getJsonObject(1).getString("role"));
    HttpResponse<Buffer> renamed = call(PATCH, "/api/orgs/" + acme, ada, new JsonObject().put("name", "Acme Inc"));
    assertEquals(200, renamed.statusCode(), renamed.bodyAsString());
    JsonObject details = call(GET, "/api/orgs/" + acme, ada, null).bodyAsJsonObject();
    assertEquals("Acme Inc", details.getString("name"));
    assertTrue(details.containsKey("created_at"));

    // Invite someone without an account: they sign up with the invited address, then accept.
    HttpResponse<Buffer> invited = invite(ada, acme, "Bob@Example.com", "member");
    assertEquals(201, invited.statusCode(), invited.bodyAsString());
    assertEquals("bob@example.com", invited.bodyAsJsonObject().getString("email"));
    String mail = api.mailTo("bob@example.com", INVITED);
    assertTrue(mail.contains(ApiClient.PUBLIC_URL + "/invite?token="), mail);
    String bobToken = api.tokenFromMail("bob@example.com", INVITED);
    assertEquals(1, invitationsRows(acme, "token_hash = '" + SecretTokens.hash(bobToken) + "'"),
        "only the SHA-256 of the token is stored");
    String bob = api.signUpAndSignIn("bob@example.com");
    assertEquals(404, call(GET, "/api/orgs/" + acme, bob, null).statusCode(), "not a member yet");
    HttpResponse<Buffer> accepted = accept(bob, bobToken);
    assertEquals(200, accepted.statusCode(), accepted.bodyAsString());
    assertEquals("member", accepted.bodyAsJsonObject().getJsonObject("organization").getString("role"));
    HttpResponse<Buffer> replay = accept(bob, bobToken);
    assertEquals(400, replay.statusCode());
    assertEquals("invalid_token", code(replay));
    JsonArray members = call(GET, "/api/orgs/" + acme + "/members", bob, null).bodyAsJsonObject().getJsonArray("data");
    assertEquals(2, members.size());
    JsonObject bobRow = members.getJsonObject(1);
    assertEquals("bob@example.com", bobRow.getString("email"));
    assertEquals("member", bobRow.getString("role"));
    assertTrue(bobRow.containsKey("joined_at") && bobRow.containsKey("name") && bobRow.containsKey("user_id"));

    // An existing member cannot be invited again.
    HttpResponse<Buffer> again = invite(ada, acme, "bob@example.com", "admin");
    assertEquals(409, again.statusCode());
    assertEquals("already_member", code(again));

    // Re-inviting replaces the pending invitation: one row, the old link dead, the new role.
    assertEquals(201, invite(ada, acme, "cy@example.com", "admin").statusCode());
    String oldCy = api.tokenFromMail("cy@example.com", INVITED);
    int before = api.mailCount();
    assertEquals(201, invite(ada, acme, "cy@example.com", "member").statusCode());
    waitForMails(before + 1);
    String newCy = api.tokenFromMail("cy@example.com", INVITED);
    JsonArray pending = call(GET, "/api/orgs/" + acme + "/invitations", ada, null).bodyAsJsonObject()
        .getJsonArray("data");
    assertEquals(1, pending.size(), pending.encode());
    assertEquals("member", pending.getJsonObject(0).getString("role"));
    String cy = api.signUpAndSignIn("cy@example.com");
    assertEquals("invalid_token", code(accept(cy, oldCy)));

    // The wrong user: 403, and the invitation stays usable by the right one.
    HttpResponse<Buffer> wrongUser = accept(bob, newCy);
    assertEquals(403, wrongUser.statusCode());
    assertEquals("invitation_for_other_email", code(wrongUser));
    assertEquals(200, accept(cy, newCy).statusCode());
    assertEquals(0, call(GET, "/api/orgs/" + acme + "/invitations", ada, null).bodyAsJsonObject()
        .getJsonArray("data").size());

    // Revoked and expired invitations cannot be accepted.
    HttpResponse<Buffer> eveInvite = invite(ada, acme, "eve@example.com", "member");
    long eveId = eveInvite.bodyAsJsonObject().getLong("id");
    String eveToken = api.tokenFromMail("eve@example.com", INVITED);
    assertEquals(204, call(DELETE, "/api/orgs/" + acme + "/invitations/" + eveId, ada, null).statusCode());
    assertEquals(404, call(DELETE, "/api/orgs/" + acme + "/invitations/" + eveId, ada, null).statusCode());
    assertEquals(404, call(DELETE, "/api/orgs/" + acme + "/invitations/x1", ada, null).statusCode());
    String eve = api.signUpAndSignIn("eve@example.com");
    assertEquals("invalid_token", code(accept(eve, eveToken)));
    assertEquals(201, invite(ada, acme, "eve@example.com", "member").statusCode());
    String eveToken2 = api.tokenFromMail("eve@example.com", INVITED);
    api.gateway().pool().preparedQuery("UPDATE invitations SET expires_at = now() - interval '1 second' "
        + "WHERE org_id = $1 AND email = 'eve@example.com' AND revoked_at IS NULL").execute(Tuple.of(acme)).await();
    assertEquals("invalid_token", code(accept(eve, eveToken2)));
    assertEquals(404, call(GET, "/api/orgs/" + acme, eve, null).statusCode());

    HttpResponse<Buffer> badRole = invite(ada, acme, "fay@example.com", "owner");
    assertEquals(400, badRole.statusCode());
    assertEquals("role", badRole.bodyAsJsonObject().getJsonObject("error").getString("param"));
    assertEquals(401, call(POST, "/api/invitations/accept", null, new JsonObject().put("token", newCy))
        .statusCode());
  }

  @Test
  @DisplayName("roles: who may change whom, removing, leaving, and transferring the ownership")
  void rolesRemoveLeaveTransfer() {
    String ada = api.signUpAndSignIn("ada@example.com");
    long acme = call(POST, "/api/orgs", ada, new JsonObject().put("name", "Acme")).bodyAsJsonObject().getLong("id");
    String bob = join(ada, acme, "bob@example.com");
    String cy = join(ada, acme, "cy@example.com");
    String dee = join(ada, acme, "dee@example.com");
    long adaId = userId("ada@example.com");
    long bobId = userId("bob@example.com");
    long cyId = userId("cy@example.com");
    long deeId = userId("dee@example.com");
    String base = "/api/orgs/" + acme + "/members/";

    // A member can read but not manage.
    assertEquals(200, call(GET, "/api/orgs/" + acme + "/members", dee, null).statusCode());
    HttpResponse<Buffer> memberTries = call(PATCH, base + cyId, dee, role("admin"));
    assertEquals(403, memberTries.statusCode());
    assertEquals("insufficient_role", code(memberTries));
    assertEquals(403, invite(dee, acme, "x@example.com", "member").statusCode());
    assertEquals(403, call(GET, "/api/orgs/" + acme + "/invitations", dee, null).statusCode());
    assertEquals(403, call(PATCH, "/api/orgs/" + acme, dee, new JsonObject().put("name", "Nope")).statusCode());
    assertEquals(403, call(DELETE, base + cyId, dee, null).statusCode());

    // The owner makes bob an admin; an admin manages members but never the owner, and makes no owners.
    HttpResponse<Buffer> promoted = call(PATCH, base + bobId, ada, role("admin"));
    assertEquals(200, promoted.statusCode(), promoted.bodyAsString());
    assertEquals("admin", promoted.bodyAsJsonObject().getString("role"));
    assertEquals(200, call(PATCH, base + cyId, bob, role("admin")).statusCode());
    assertEquals(200, call(PATCH, base + cyId, bob, role("member")).statusCode());
    HttpResponse<Buffer> touchOwner = call(PATCH, base + adaId, bob, role("member"));
    assertEquals(403, touchOwner.statusCode());
    assertEquals("owner_protected", code(touchOwner));
    HttpResponse<Buffer> makeOwner = call(PATCH, base + cyId, bob, role("owner"));
    assertEquals(400, makeOwner.statusCode());
    assertEquals(400, call(PATCH, base + cyId, ada, role("owner")).statusCode(), "owners come by transfer only");
    assertEquals(400, call(PATCH, base + cyId, ada, role("boss")).statusCode());
    assertEquals(403, call(PATCH, base + adaId, ada, role("admin")).statusCode(), "the owner cannot demote itself");
    assertEquals(404, call(PATCH, base + 999_999, ada, role("admin")).statusCode());
    assertEquals(404, call(PATCH, base + "abc", ada, role("admin")).statusCode());
    assertEquals(403, call(POST, "/api/orgs/" + acme + "/transfer-ownership", bob,
        new JsonObject().put("user_id", cyId)).statusCode(), "only the owner transfers");

    // Removing: admins remove members, nobody removes the owner.
    assertEquals(204, call(DELETE, base + deeId, bob, null).statusCode());
    assertEquals(404, call(GET, "/api/orgs/" + acme, dee, null).statusCode());
    assertEquals(404, call(DELETE, base + deeId, bob, null).statusCode());
    HttpResponse<Buffer> removeOwner = call(DELETE, base + adaId, bob, null);
    assertEquals(403, removeOwner.statusCode());
    assertEquals("owner_protected", code(removeOwner));

    // Leaving: members may, the owner must transfer first.
    assertEquals(204, call(POST, "/api/orgs/" + acme + "/leave", cy, null).statusCode());
    assertEquals(404, call(GET, "/api/orgs/" + acme + "/members", cy, null).statusCode());
    HttpResponse<Buffer> ownerLeaves = call(POST, "/api/orgs/" + acme + "/leave", ada, null);
    assertEquals(409, ownerLeaves.statusCode());
    assertEquals("owner_cannot_leave", code(ownerLeaves));

    // Transfer: the target must be a member; the old owner becomes an admin.
    assertEquals(404, call(POST, "/api/orgs/" + acme + "/transfer-ownership", ada,
        new JsonObject().put("user_id", deeId)).statusCode());
    assertEquals(400, call(POST, "/api/orgs/" + acme + "/transfer-ownership", ada,
        new JsonObject().put("user_id", "bob")).statusCode());
    HttpResponse<Buffer> transferred = call(POST, "/api/orgs/" + acme + "/transfer-ownership", ada,
        new JsonObject().put("user_id", bobId));
    assertEquals(200, transferred.statusCode(), transferred.bodyAsString());
    assertEquals("owner", call(GET, "/api/orgs/" + acme, bob, null).bodyAsJsonObject().getString("role"));
    assertEquals("admin", call(GET, "/api/orgs/" + acme, ada, null).bodyAsJsonObject().getString("role"));
    assertEquals(1L, api.gateway().pool().preparedQuery("SELECT count(*) FROM memberships WHERE org_id = $1 "
        + "AND role = 'owner'").execute(Tuple.of(acme)).await().iterator().next().getLong(0));
    assertEquals(403, call(PATCH, base + bobId, ada, role("member")).statusCode(), "the new owner is protected");
    assertEquals(204, call(POST, "/api/orgs/" + acme + "/leave", ada, null).statusCode());
    JsonArray left = call(GET, "/api/orgs/" + acme + "/members", bob, null).bodyAsJsonObject().getJsonArray("data");
    assertEquals(1, left.size());
    assertEquals(bobId, left.getJsonObject(0).getLong("user_id"));
  }

  @Test
  @DisplayName("tenant isolation: every org route with another organization's ids is a 404 and changes nothing")
  void tenantIsolation() {
    String ada = api.signUpAndSignIn("ada@example.com");
    long a = call(POST, "/api/orgs", ada, new JsonObject().put("name", "Org A")).bodyAsJsonObject().getLong("id");
    String bob = api.signUpAndSignIn("bob@example.com");
    long b = call(POST, "/api/orgs", bob, new JsonObject().put("name", "Org B")).bodyAsJsonObject().getLong("id");
    join(bob, b, "cy@example.com");
    long bobId = userId("bob@example.com");
    long cyId = userId("cy@example.com");
    long adaId = userId("ada@example.com");
    long pendingB = invite(bob, b, "dan@example.com", "member").bodyAsJsonObject().getLong("id");
    api.tokenFromMail("dan@example.com", INVITED);

    String before = snapshot(b);
    int mails = api.mailCount();
    String unknownOrg = call(GET, "/api/orgs/999999", ada, null).bodyAsString();
    assertEquals(404, call(GET, "/api/orgs/999999", ada, null).statusCode());

    String ob = "/api/orgs/" + b;
    List<HttpResponse<Buffer>> otherOrg = new ArrayList<>();
    otherOrg.add(call(GET, ob, ada, null));
    otherOrg.add(call(PATCH, ob, ada, new JsonObject().put("name", "pwned")));
    otherOrg.add(call(GET, ob + "/members", ada, null));
    otherOrg.add(call(PATCH, ob + "/members/" + cyId, ada, role("admin")));
    otherOrg.add(call(PATCH, ob + "/members/" + bobId, ada, role("member")));
    otherOrg.add(call(DELETE, ob + "/members/" + cyId, ada, null));
    otherOrg.add(call(DELETE, ob + "/members/" + bobId, ada, null));
    otherOrg.add(call(POST, ob + "/leave", ada, null));
    otherOrg.add(call(POST, ob + "/transfer-ownership", ada, new JsonObject().put("user_id", adaId)));
    otherOrg.add(call(POST, ob + "/transfer-ownership", ada, new JsonObject().put("user_id", cyId)));
    otherOrg.add(invite(ada, b, "mallory@example.com", "admin"));
    otherOrg.add(call(GET, ob + "/invitations", ada, null));
    otherOrg.add(call(DELETE, ob + "/invitations/" + pendingB, ada, null));
    otherOrg.add(call(PATCH, ob, ada, new JsonObject()));
    otherOrg.add(call(POST, ob + "/invitations", ada, new JsonObject().put("email", "not an address")));
    for (HttpResponse<Buffer> r : otherOrg) {
      assertEquals(404, r.statusCode(), r.bodyAsString());
      assertEquals(unknownOrg, r.bodyAsString(), "the same answer as for an organization that does not exist");
    }

    // B's member and invitation ids through A, where ada is the owner.
    String oa = "/api/orgs/" + a;
    List<HttpResponse<Buffer>> otherIds = List.of(
        call(PATCH, oa + "/members/" + cyId, ada, role("admin")),
        call(PATCH, oa + "/members/" + bobId, ada, role("member")),
        call(DELETE, oa + "/members/" + cyId, ada, null),
        call(DELETE, oa + "/members/" + bobId, ada, null),
        call(POST, oa + "/transfer-ownership", ada, new JsonObject().put("user_id", cyId)),
        call(DELETE, oa + "/invitations/" + pendingB, ada, null));
    for (HttpResponse<Buffer> r : otherIds) {
      assertEquals(404, r.statusCode(), r.bodyAsString());
    }
    JsonArray adasOrgs = call(GET, "/api/orgs", ada, null).bodyAsJsonObject().getJsonArray("data");
    assertFalse(adasOrgs.encode().contains("Org B"));

    assertEquals(before, snapshot(b), "nothing in organization B changed");
    assertEquals(mails, api.mailCount(), "no invitation was sent");
    assertEquals(200, call(GET, ob, bob, null).statusCode());
    assertEquals("owner", call(GET, oa, ada, null).bodyAsJsonObject().getString("role"), "A is intact too");
  }

  /** Invites {@code email} as a member, signs them up and accepts; returns their access token. */
  private String join(String adminToken, long orgId, String email) {
    assertEquals(201, invite(adminToken, orgId, email, "member").statusCode());
    String token = api.tokenFromMail(email, INVITED);
    String access = api.signUpAndSignIn(email);
    assertEquals(200, accept(access, token).statusCode());
    return access;
  }

  private HttpResponse<Buffer> invite(String access, long orgId, String email, String role) {
    return call(POST, "/api/orgs/" + orgId + "/invitations", access,
        new JsonObject().put("email", email).put("role", role));
  }

  private HttpResponse<Buffer> accept(String access, String token) {
    return call(POST, "/api/invitations/accept", access, new JsonObject().put("token", token));
  }

  private HttpResponse<Buffer> call(HttpMethod method, String path, String access, JsonObject body) {
    return api.call(method, path, access, body);
  }

  private static JsonObject role(String role) {
    return new JsonObject().put("role", role);
  }

  private long userId(String email) {
    return api.gateway().pool().preparedQuery("SELECT id FROM users WHERE email = $1").execute(Tuple.of(email))
        .await().iterator().next().getLong(0);
  }

  private long invitationsRows(long orgId, String where) {
    return api.gateway().pool().preparedQuery("SELECT count(*) FROM invitations WHERE org_id = $1 AND " + where)
        .execute(Tuple.of(orgId)).await().iterator().next().getLong(0);
  }

  /** Every row of the organization, its memberships and its invitations, as JSON text. */
  private String snapshot(long orgId) {
    return api.gateway().pool().preparedQuery("SELECT json_build_array("
            + "(SELECT json_agg(o) FROM organizations o WHERE id = $1), "
            + "(SELECT json_agg(m ORDER BY user_id) FROM memberships m WHERE org_id = $1), "
            + "(SELECT json_agg(i ORDER BY id) FROM invitations i WHERE org_id = $1))::text")
        .execute(Tuple.of(orgId)).await().iterator().next().getString(0);
  }

  private void waitForMails(int count) {
    long deadline = System.currentTimeMillis() + 10_000;
    while (api.mailCount() < count && System.currentTimeMillis() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
    assertTrue(api.mailCount() >= count);
  }
}
