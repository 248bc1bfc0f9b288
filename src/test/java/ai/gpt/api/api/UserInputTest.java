package ai.gpt.api.api;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.apikeys.ApiUsers.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.math.BigInteger;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every kind of user text that becomes a number, an id, an amount or a date, through real HTTP: one strict parser
 * per kind (ASCII digits, bounded length, no exponent), a 400 naming the parameter, never a 500 or a stall.
 */
@ExtendWith(VertxExtension.class)
class UserInputTest {
  private ApiUsers users;
  private User ada;
  private long team;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    users = ApiUsers.start(vertx);
    ada = users.signUp("ada@example.com");
    team = users.createOrgOwnedBy(ada, "ada-team");
    users.gw.credit(ada.orgId(), 2_000_000_000L); // $2000: "1e3" read as $1000 would go through
  }

  @AfterEach
  void stop() {
    users.close();
  }

  @Test
  @DisplayName("amounts: transfer and admin credits refuse exponents, foreign digits, signs and huge text with "
      + "400 invalid_amount, fast")
  void amounts() {
    User root = users.signUp("root@example.com");
    users.gw.pool().preparedQuery("UPDATE users SET is_admin = true WHERE id = $1").execute(Tuple.of(root.id()))
        .await();
    long start = System.nanoTime();
    for (String bad : List.of("1e120000", "1e2147483647", "1e3", "١", "$1", "1,000", "1_0", " 1", "+1", "0x10",
        "1.1234567", "-1", "9".repeat(5_000))) {
      HttpResponse<Buffer> transfer = users.call("POST", "/api/orgs/" + ada.orgId() + "/credits/transfer",
          ada.token(), new JsonObject().put("to_org_id", team).put("usd", bad).put("reason", "x"));
      assertEquals(400, transfer.statusCode(), bad + ": " + transfer.bodyAsString());
      assertEquals("invalid_amount", code(transfer), bad);
      assertEquals("usd", param(transfer), bad);
      HttpResponse<Buffer> admin = users.call("POST", "/api/admin/orgs/" + ada.orgId() + "/credits", root.token(),
          new JsonObject().put("usd", bad.equals("-1") ? "-1e3" : "-" + bad).put("reason", "x"));
      assertEquals(400, admin.statusCode(), bad + ": " + admin.bodyAsString());
      assertEquals("invalid_amount", code(admin), bad);
    }
    assertTrue(System.nanoTime() - start < 10_000_000_000L, "no parse stalls");
    assertEquals(2_000_000_000L, users.gw.ledgerBalance(ada.orgId()), "nothing moved");
  }

  @Test
  @DisplayName("ids and query numbers: only ASCII digits ('١' is not 1), no sign, bounded")
  void idsAndQueryNumbers() {
    String arabic = arabicIndic(ada.orgId());
    String path = "/api/orgs/" + URLEncoder.encode(arabic, StandardCharsets.UTF_8) + "/credits";
    assertEquals(404, users.call("GET", path, ada.token(), null).statusCode(), "'" + arabic + "' is no org id");
    assertEquals(404, users.call("GET", "/api/orgs/+" + ada.orgId() + "/credits", ada.token(), null).statusCode());
    assertEquals(404, users.call("GET", "/api/orgs/" + "0".repeat(30) + ada.orgId() + "/credits", ada.token(),
        null).statusCode());
    for (String query : List.of("limit=" + URLEncoder.encode("١٠", StandardCharsets.UTF_8), "limit=%2B5",
        "limit=1e1", "before=" + "9".repeat(40))) {
      HttpResponse<Buffer> resp = users.call("GET", "/api/orgs/" + ada.orgId() + "/credits/ledger?" + query,
          ada.token(), null);
      assertEquals(400, resp.statusCode(), query);
      assertEquals(query.substring(0, query.indexOf('=')), param(resp));
      HttpResponse<Buffer> usage = users.call("GET", "/api/orgs/" + ada.orgId() + "/usage/requests?"
          + query.replace("before=", "limit="), ada.token(), null);
      assertEquals(400, usage.statusCode(), query);
    }
  }

  @Test
  @DisplayName("whole numbers in JSON bodies: 1.5, 1e3, \"12\", booleans and numbers beyond a long are refused")
  void bodyNumbers() {
    for (Object bad : List.of(1.5, 1e3, "12", true, new BigInteger("99999999999999999999"), 0, -3)) {
      HttpResponse<Buffer> transfer = users.call("POST", "/api/orgs/" + ada.orgId() + "/credits/transfer",
          ada.token(), new JsonObject().put("to_org_id", bad).put("usd", "1").put("reason", "x"));
      assertEquals(400, transfer.statusCode(), bad + ": " + transfer.bodyAsString());
      assertEquals("to_org_id", param(transfer));
      HttpResponse<Buffer> key = users.call("POST", "/api/orgs/" + ada.orgId() + "/keys", ada.token(),
          new JsonObject().put("name", "k").put("limits", new JsonObject().put("rpm", bad)));
      assertEquals(400, key.statusCode(), bad + ": " + key.bodyAsString());
      assertEquals("limits.rpm", param(key));
    }
  }

  @Test
  @DisplayName("dates: a key's expires_at must be a four-digit-year ISO time in the future; usage days YYYY-MM-DD")
  void dates() {
    for (String bad : List.of("+999999999-12-31T23:59:59Z", "2020-01-01T00:00:00Z", "tomorrow",
        "2027-01-31T00:00:00", "٢٠٢٧-01-31T00:00:00Z", "2027-01-31T00:00:00Z" + " ".repeat(100))) {
      HttpResponse<Buffer> resp = users.call("POST", "/api/orgs/" + ada.orgId() + "/keys", ada.token(),
          new JsonObject().put("name", "k").put("expires_at", bad));
      assertEquals(400, resp.statusCode(), bad + ": " + resp.bodyAsString());
      assertEquals("expires_at", param(resp));
    }
    for (String bad : List.of("2026-1-01", "+10000-01-01", "2026-02-30", "x".repeat(300))) {
      HttpResponse<Buffer> resp = users.call("GET", "/api/orgs/" + ada.orgId() + "/usage/summary?from="
          + URLEncoder.encode(bad, StandardCharsets.UTF_8), ada.token(), null);
      assertEquals(400, resp.statusCode(), bad.length() + " characters: " + resp.bodyAsString());
      assertEquals("from", param(resp));
    }
  }

  @Test
  @DisplayName("U+0000 (which PostgreSQL text cannot store) in a body string, a query parameter, a path or a cursor "
      + "is a 400 naming it (a path: 404), never a 500; a repeated query parameter is a 400")
  void nulCharacters() {
    String org = "/api/orgs/" + ada.orgId();
    List<String[]> bodies = List.of(
        new String[] {"POST", "/api/orgs", "{\"name\":\"a\\u0000b\"}", "name"},
        new String[] {"POST", org + "/keys", "{\"name\":\"k\",\"allowed_models\":[\"\\u0000\"]}",
            "allowed_models[0]"},
        new String[] {"POST", org + "/credits/transfer",
            "{\"to_org_id\":" + team + ",\"usd\":\"1\",\"reason\":\"\\u0000\"}", "reason"},
        new String[] {"POST", org + "/invitations", "{\"email\":\"b\\u0000@example.com\",\"role\":\"member\"}",
            "email"},
        new String[] {"POST", "/api/auth/signin", "{\"email\":\"ada@example.com\\u0000\",\"password\":\"x\"}",
            "email"},
        new String[] {"POST", "/api/auth/password/forgot", "{\"email\":\"a\\u0000@example.com\"}", "email"});
    for (String[] b : bodies) {
      HttpResponse<Buffer> resp = users.gw.client().request(io.vertx.core.http.HttpMethod.valueOf(b[0]), b[1])
          .bearerTokenAuthentication(ada.token()).putHeader("content-type", "application/json")
          .sendBuffer(Buffer.buffer(b[2])).await();
      assertEquals(400, resp.statusCode(), b[1] + ": " + resp.bodyAsString());
      assertEquals(b[3], param(resp), b[1]);
    }
    String cursor = java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString("1:\u0000".getBytes(StandardCharsets.UTF_8));
    for (String[] q : List.of(new String[] {org + "/usage/requests?model=%00", "model"},
        new String[] {org + "/usage/requests?key_id=a%00b", "key_id"},
        new String[] {org + "/limits?key_id=%00", "key_id"},
        new String[] {org + "/usage/requests?before=" + cursor, "before"},
        new String[] {org + "/usage/requests?limit=5&limit=500", "limit"},
        new String[] {org + "/usage/summary?from=2026-01-01&from=2026-02-01", "from"})) {
      HttpResponse<Buffer> resp = users.call("GET", q[0], ada.token(), null);
      assertEquals(400, resp.statusCode(), q[0] + ": " + resp.bodyAsString());
      assertEquals(q[1], param(resp), q[0]);
    }
    HttpResponse<Buffer> path = users.call("PATCH", org + "/keys/a%00b", ada.token(),
        new JsonObject().put("name", "x"));
    assertEquals(404, path.statusCode(), path.bodyAsString());
    assertEquals(200, users.call("GET", org + "/usage/requests?limit=5", ada.token(), null).statusCode());
  }

  @Test
  @DisplayName("names (organization, key, person) are one line: control characters are a 400, not a forged log line "
      + "or e-mail line")
  void namesWithoutControlCharacters() {
    HttpResponse<Buffer> created = users.call("POST", "/api/orgs/" + ada.orgId() + "/keys", ada.token(),
        new JsonObject().put("name", "ok"));
    assertEquals(201, created.statusCode(), created.bodyAsString());
    String keyId = created.bodyAsJsonObject().getString("id");
    for (String bad : List.of("Acme\nERROR forged", "a\rb", "a\tb", "a\u0085b", "a\u2028b", "a\u001bb")) {
      HttpResponse<Buffer> org = users.call("POST", "/api/orgs", ada.token(), new JsonObject().put("name", bad));
      assertEquals(400, org.statusCode(), org.bodyAsString());
      assertEquals("name", param(org));
      HttpResponse<Buffer> rename = users.call("PATCH", "/api/orgs/" + ada.orgId(), ada.token(),
          new JsonObject().put("name", bad));
      assertEquals(400, rename.statusCode(), rename.bodyAsString());
      HttpResponse<Buffer> key = users.call("POST", "/api/orgs/" + ada.orgId() + "/keys", ada.token(),
          new JsonObject().put("name", bad));
      assertEquals(400, key.statusCode(), key.bodyAsString());
      HttpResponse<Buffer> keyRename = users.call("PATCH", "/api/orgs/" + ada.orgId() + "/keys/" + keyId,
          ada.token(), new JsonObject().put("name", bad));
      assertEquals(400, keyRename.statusCode(), keyRename.bodyAsString());
      HttpResponse<Buffer> signUp = users.call("POST", "/api/auth/signup", null,
          new JsonObject().put("email", "ctl@example.com").put("password", "correct horse battery").put("name", bad));
      assertEquals(400, signUp.statusCode(), signUp.bodyAsString());
      assertEquals("name", param(signUp));
    }
    HttpResponse<Buffer> fine = users.call("POST", "/api/orgs", ada.token(), new JsonObject().put("name", "Ünïcode Ltd"));
    assertEquals(201, fine.statusCode(), fine.bodyAsString());
  }

  private static String arabicIndic(long n) {
    StringBuilder s = new StringBuilder();
    for (char c : Long.toString(n).toCharArray()) {
      s.append((char) ('\u0660' + (c - '0')));
    }
    return s.toString();
  }
}
