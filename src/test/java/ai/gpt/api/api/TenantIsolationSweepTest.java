package ai.gpt.api.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.sqlclient.Tuple;
import io.vertx.junit5.VertxExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Tenant isolation, generically: every route of the served routers with an {@code :orgId} parameter (found by
 * walking the routers the gateway really runs, like {@link OpenApiTest}, so a new org route is covered the day it
 * is added) is called by a signed-in owner, and by a plain member, of organization A with organization B's id and
 * B's own member, key and invitation ids. Each must answer exactly like an organization that does not exist, and
 * nothing of B may change.
 */
@ExtendWith(VertxExtension.class)
class TenantIsolationSweepTest {
  private static final Pattern PARAM = Pattern.compile(":([A-Za-z0-9_]+)");
  private static final String INVITED = "You are invited to join";

  private ApiClient api;
  private GatewayHarness gw;

  @BeforeEach
  void setUp(Vertx vertx) throws Exception {
    api = ApiClient.start(vertx);
    gw = api.gateway();
  }

  @AfterEach
  void tearDown() {
    api.close();
  }

  @Test
  @DisplayName("every :orgId route answers a non-member exactly like an unknown organization and changes nothing")
  void everyOrgRouteIsClosedToOtherTenants() {
    // Organization A: ada owns it, mo is a plain member.
    String ada = api.signUpAndSignIn("ada@example.com");
    long a = createOrg(ada, "Org A");
    String mo = join(ada, a, "mo@example.com");

    // Organization B: bob owns it, with a member, a key, a pending invitation, credit and ledger rows.
    String bob = api.signUpAndSignIn("bob@example.com");
    long b = createOrg(bob, "Org B");
    join(bob, b, "cy@example.com");
    long bobId = userId("bob@example.com");
    long cyId = userId("cy@example.com");
    gw.credit(b, 5_000_000);
    HttpResponse<Buffer> key = api.call(HttpMethod.POST, "/api/orgs/" + b + "/keys", bob,
        new JsonObject().put("name", "b-key"));
    assertEquals(201, key.statusCode(), key.bodyAsString());
    String bKeyId = key.bodyAsJsonObject().getString("id");
    HttpResponse<Buffer> inv = api.call(HttpMethod.POST, "/api/orgs/" + b + "/invitations", bob,
        new JsonObject().put("email", "dan@example.com").put("role", "member"));
    assertEquals(201, inv.statusCode(), inv.bodyAsString());
    long bInvitationId = inv.bodyAsJsonObject().getLong("id");
    api.tokenFromMail("dan@example.com", INVITED);
    // The other path parameters are B's own ids (any other parameter gets "1").
    Map<String, String> ids = Map.of("orgId", String.valueOf(b), "userId", String.valueOf(cyId),
        "keyId", bKeyId, "invitationId", String.valueOf(bInvitationId));

    // The answer for an organization that does not exist.
    HttpResponse<Buffer> unknown = api.call(HttpMethod.GET, "/api/orgs/999999", ada, null);
    assertEquals(404, unknown.statusCode());
    String unknownCode = ApiClient.code(unknown);

    Set<String> routes = new TreeSet<>();
    collect(gw.router(), "", routes);
    // Sanity: the walk found the org routes of every feature, not just a few.
    for (String expected : List.of("GET /api/orgs/:orgId", "POST /api/orgs/:orgId/keys",
        "POST /api/orgs/:orgId/credits/transfer", "GET /api/orgs/:orgId/usage/summary",
        "DELETE /api/orgs/:orgId/invitations/:invitationId", "PATCH /api/orgs/:orgId/members/:userId")) {
      assertTrue(routes.contains(expected), expected + " in " + routes);
    }

    String before = snapshot(b);
    int mails = api.mailCount();
    List<String> leaks = new ArrayList<>();
    for (String caller : List.of(ada, mo)) {
      for (String route : routes) {
        String method = route.substring(0, route.indexOf(' '));
        String template = route.substring(route.indexOf(' ') + 1);
        String path = fill(template, ids);
        boolean withBody = method.equals("POST") || method.equals("PATCH") || method.equals("PUT");
        JsonObject[] bodies = withBody
            ? new JsonObject[] {new JsonObject(), new JsonObject().put("user_id", bobId).put("to_org_id", a)
                .put("usd", "1.00").put("reason", "r").put("name", "pwned").put("role", "admin")
                .put("status", "disabled").put("email", "mallory@example.com")}
            : new JsonObject[] {null};
        for (JsonObject body : bodies) {
          HttpResponse<Buffer> r = api.call(HttpMethod.valueOf(method), path, caller, body);
          String code = null;
          try {
            code = ApiClient.code(r);
          } catch (RuntimeException e) {
            // not a JSON error: reported below
          }
          if (r.statusCode() != 404 || !unknownCode.equals(code)) {
            leaks.add((caller.equals(ada) ? "owner of A" : "member of A") + ": " + method + " " + path
                + (body == null ? "" : " " + body.encode()) + " -> " + r.statusCode() + " " + r.bodyAsString());
          }
        }
      }
    }
    assertEquals(List.of(), leaks, "org routes that answered a non-member differently from an unknown org");
    assertEquals(before, snapshot(b), "nothing in organization B changed");
    assertEquals(mails, api.mailCount(), "no e-mail was sent");
    // B is intact and still works for its owner.
    assertEquals(200, api.call(HttpMethod.GET, "/api/orgs/" + b + "/keys", bob, null).statusCode());
  }

  /** The concrete path of a route template: known ids of B, or "1" for any other parameter. */
  private static String fill(String template, Map<String, String> ids) {
    Matcher m = PARAM.matcher(template);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(ids.getOrDefault(m.group(1), "1")));
    }
    m.appendTail(out);
    return out.toString();
  }

  /** Every endpoint under the routers whose path has an :orgId parameter, as "METHOD /path/:param". */
  private static void collect(Router router, String prefix, Set<String> out) {
    for (Route route : router.getRoutes()) {
      String path = route.getPath();
      if (route.getSubRouter() != null) {
        collect(route.getSubRouter(), prefix + path.replaceAll("/$", ""), out);
        continue;
      }
      if (path == null || !path.contains(":orgId")) {
        continue;
      }
      String full = prefix + path;
      assertTrue(!route.methods().isEmpty(), "a route for every method: " + full);
      for (HttpMethod method : route.methods()) {
        out.add(method.name() + " " + full);
      }
    }
  }

  private long createOrg(String access, String name) {
    HttpResponse<Buffer> created = api.call(HttpMethod.POST, "/api/orgs", access, new JsonObject().put("name", name));
    assertEquals(201, created.statusCode(), created.bodyAsString());
    return created.bodyAsJsonObject().getLong("id");
  }

  /** Invites {@code email} as a member, signs them up and accepts; returns their access token. */
  private String join(String ownerAccess, long orgId, String email) {
    assertEquals(201, api.call(HttpMethod.POST, "/api/orgs/" + orgId + "/invitations", ownerAccess,
        new JsonObject().put("email", email).put("role", "member")).statusCode());
    String token = api.tokenFromMail(email, INVITED);
    String access = api.signUpAndSignIn(email);
    assertEquals(200, api.call(HttpMethod.POST, "/api/invitations/accept", access,
        new JsonObject().put("token", token)).statusCode());
    return access;
  }

  private long userId(String email) {
    return gw.pool().preparedQuery("SELECT id FROM users WHERE email = $1").execute(Tuple.of(email))
        .await().iterator().next().getLong(0);
  }

  /** B's organization row, members, keys, ledger rows and invitations, as JSON text. */
  private String snapshot(long orgId) {
    return gw.pool().preparedQuery("SELECT json_build_array("
            + "(SELECT json_agg(o) FROM organizations o WHERE id = $1), "
            + "(SELECT json_agg(m ORDER BY user_id) FROM memberships m WHERE org_id = $1), "
            + "(SELECT json_agg(k ORDER BY public_id) FROM api_keys k WHERE org_id = $1), "
            + "(SELECT json_agg(l ORDER BY id) FROM credit_ledger l WHERE org_id = $1), "
            + "(SELECT json_agg(i ORDER BY id) FROM invitations i WHERE org_id = $1))::text")
        .execute(Tuple.of(orgId)).await().iterator().next().getString(0);
  }
}
