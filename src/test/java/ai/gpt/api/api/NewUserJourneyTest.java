package ai.gpt.api.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.gpt.api.cli.Cli;
import ai.gpt.api.config.Env;
import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.TestServices;
import com.eatthepath.otp.TimeBasedOneTimePasswordGenerator;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The "Done when" as one story through real HTTP: a new user signs up, verifies, turns on 2FA, builds a
 * team, gets credit from the platform admin, calls the model with a key, reads usage and credits, moves credit,
 * revokes the key, and the admin sees it all. Every request the test makes is first checked to be an operation
 * of the served /api/openapi.json, so the story only uses documented API.
 */
@ExtendWith(VertxExtension.class)
class NewUserJourneyTest {
  private static final Set<String> OPERATIONS = Set.of("get", "put", "post", "delete", "patch", "head", "options");
  private static final String PASSWORD = ApiClient.PASSWORD;
  private static final String INVITED = "You are invited to join";
  private static final long STEP_SECONDS = 30;

  private ApiClient api;
  private GatewayHarness gw;
  private FakeLlamaServer fake;
  /** "METHOD template" → the template as a regex over concrete paths. */
  private final List<Map.Entry<String, Pattern>> documented = new ArrayList<>();
  /** Every operation the story used, for a final sanity check. */
  private final Set<String> used = new LinkedHashSet<>();

  @BeforeEach
  void setUp(Vertx vertx) throws Exception {
    api = ApiClient.start(vertx);
    gw = api.gateway();
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(4)).await();
  }

  @AfterEach
  void tearDown() {
    api.close();
    fake.close().await();
  }

  @Test
  @DisplayName("sign up → 2FA → org + teammate → admin credit → key → /v1 → usage + credits → transfer → revoke → admin")
  void newUserJourney() throws Exception {
    loadDocument();

    // 1. Sign up, read the verification e-mail, verify, sign in.
    String email = "founder@example.com";
    HttpResponse<Buffer> up = call("POST", "/api/auth/signup", null,
        new JsonObject().put("email", email).put("password", PASSWORD).put("name", "Founder"));
    assertEquals(202, up.statusCode(), up.bodyAsString());
    String verifyToken = api.tokenFromMail(email, "Verify your e-mail");
    assertEquals(200, call("POST", "/api/auth/verify", null, new JsonObject().put("token", verifyToken))
        .statusCode());
    HttpResponse<Buffer> in = signIn(email);
    assertEquals(200, in.statusCode(), in.bodyAsString());
    String access = in.bodyAsJsonObject().getString("access_token");
    assertNotNull(access);
    JsonObject me = ok(call("GET", "/api/me", access, null));
    assertEquals(email, me.getString("email"));
    long personalOrg = me.getJsonArray("organizations").getJsonObject(0).getLong("id");

    // 2. Enable 2FA: enroll, confirm with a code from an authenticator (java-otp).
    JsonObject enrolled = ok(call("POST", "/api/auth/2fa/enroll", access, new JsonObject()));
    byte[] totpKey = base32(enrolled.getString("secret"));
    long step = Instant.now().getEpochSecond() / STEP_SECONDS;
    JsonObject confirmed = ok(call("POST", "/api/auth/2fa/confirm", access,
        new JsonObject().put("code", totp(totpKey, step - 1))));
    assertEquals(10, confirmed.getJsonArray("recovery_codes").size());

    // 3. Sign out (the session ends at once), sign in again through the 2FA challenge.
    assertEquals(204, call("POST", "/api/auth/signout", access, null).statusCode());
    assertEquals(401, call("GET", "/api/me", access, null).statusCode());
    JsonObject challenged = ok(signIn(email));
    assertEquals(true, challenged.getBoolean("two_factor_required"));
    assertNull(challenged.getString("access_token"), "the password alone is not a session");
    HttpResponse<Buffer> second = call("POST", "/api/auth/2fa/verify", null, new JsonObject()
        .put("challenge", challenged.getString("challenge"))
        .put("code", totp(totpKey, Instant.now().getEpochSecond() / STEP_SECONDS)));
    assertEquals(200, second.statusCode(), second.bodyAsString());
    access = second.bodyAsJsonObject().getString("access_token");
    assertEquals(email, ok(call("GET", "/api/me", access, null)).getString("email"));

    // 4. Create an organization and invite a teammate, who signs up, verifies and accepts.
    HttpResponse<Buffer> created = call("POST", "/api/orgs", access, new JsonObject().put("name", "Founders Inc"));
    assertEquals(201, created.statusCode(), created.bodyAsString());
    long org = created.bodyAsJsonObject().getLong("id");
    assertEquals("owner", created.bodyAsJsonObject().getString("role"));
    String mate = "mate@example.com";
    HttpResponse<Buffer> invited = call("POST", "/api/orgs/" + org + "/invitations", access,
        new JsonObject().put("email", mate).put("role", "member"));
    assertEquals(201, invited.statusCode(), invited.bodyAsString());
    String inviteToken = api.tokenFromMail(mate, INVITED);
    assertEquals(202, call("POST", "/api/auth/signup", null,
        new JsonObject().put("email", mate).put("password", PASSWORD).put("name", "Mate")).statusCode());
    assertEquals(200, call("POST", "/api/auth/verify", null,
        new JsonObject().put("token", api.tokenFromMail(mate, "Verify your e-mail"))).statusCode());
    String mateAccess = ok(signIn(mate)).getString("access_token");
    HttpResponse<Buffer> accepted = call("POST", "/api/invitations/accept", mateAccess,
        new JsonObject().put("token", inviteToken));
    assertEquals(200, accepted.statusCode(), accepted.bodyAsString());
    JsonArray members = ok(call("GET", "/api/orgs/" + org + "/members", access, null)).getJsonArray("data");
    assertEquals(List.of(email, mate), members.stream().map(m -> ((JsonObject) m).getString("email")).toList());
    assertEquals(0, ok(call("GET", "/api/orgs/" + org + "/invitations", access, null)).getJsonArray("data")
        .size(), "the invitation is used up");

    // 5. The founder is the platform admin (granted with the CLI, as an operator would); the admin adds the
    //    model's backend and deposits credit into the new organization through the admin API.
    assertEquals(0, cli("admin", "grant", email));
    HttpResponse<Buffer> backend = call("POST", "/api/admin/backends", access,
        new JsonObject().put("model", "gpt-fast").put("url", fake.baseUrl()).put("slots", 4));
    assertEquals(201, backend.statusCode(), backend.bodyAsString());
    long backendId = backend.bodyAsJsonObject().getLong("id");
    GatewayHarness.awaitTrue("backend healthy", () -> gw.backendHealthy(backendId));
    HttpResponse<Buffer> deposit = gw.client().post("/api/admin/orgs/" + org + "/credits")
        .bearerTokenAuthentication(access).putHeader("Idempotency-Key", "journey-deposit-1")
        .sendJsonObject(new JsonObject().put("usd", "10.00").put("reason", "welcome credit")).await();
    checkDocumented("POST", "/api/admin/orgs/" + org + "/credits");
    assertEquals(201, deposit.statusCode(), deposit.bodyAsString());
    assertEquals("10.000000", deposit.bodyAsJsonObject().getString("balance_usd"));

    // 6. Create an API key and use it on /v1/chat/completions.
    HttpResponse<Buffer> keyResp = call("POST", "/api/orgs/" + org + "/keys", access,
        new JsonObject().put("name", "journey"));
    assertEquals(201, keyResp.statusCode(), keyResp.bodyAsString());
    String secret = keyResp.bodyAsJsonObject().getString("key");
    String keyId = keyResp.bodyAsJsonObject().getString("id");
    HttpResponse<Buffer> completion = call("POST", "/v1/chat/completions", secret, chat());
    assertEquals(200, completion.statusCode(), completion.bodyAsString());
    assertEquals("chat.completion", completion.bodyAsJsonObject().getString("object"));

    // 7. Usage (summary and requests) and credits (balance and ledger). Usage is written asynchronously.
    String usage = "/api/orgs/" + org + "/usage";
    long deadline = System.currentTimeMillis() + 10_000;
    JsonObject summary;
    do {
      summary = ok(call("GET", usage + "/summary", access, null));
      if (summary.getJsonObject("total").getLong("requests") >= 1) {
        break;
      }
      Thread.sleep(50);
    } while (System.currentTimeMillis() < deadline);
    assertEquals(1L, summary.getJsonObject("total").getLong("requests"), summary.encode());
    long cost = summary.getJsonObject("total").getLong("cost_micros");
    assertTrue(cost > 0, "the request cost something: " + summary.encode());
    JsonArray requests = ok(call("GET", usage + "/requests", access, null)).getJsonArray("data");
    assertEquals(1, requests.size(), requests.encode());
    assertEquals(cost, requests.getJsonObject(0).getLong("cost_micros"));
    // The teammate, a plain member, sees the same usage.
    assertEquals(1L, ok(call("GET", usage + "/summary", mateAccess, null)).getJsonObject("total")
        .getLong("requests"));

    String credits = "/api/orgs/" + org + "/credits";
    JsonObject balance = ok(call("GET", credits, access, null));
    assertEquals(10_000_000L - cost, balance.getLong("balance_micros"), balance.encode());
    JsonArray ledger = ok(call("GET", credits + "/ledger", access, null)).getJsonArray("data");
    assertTrue(ledger.stream().anyMatch(e -> "credit".equals(((JsonObject) e).getString("kind"))
        && ((JsonObject) e).getLong("amount_micros") == 10_000_000L), ledger.encode());

    // 8. Transfer credit to the personal organization.
    HttpResponse<Buffer> transfer = call("POST", credits + "/transfer", access, new JsonObject()
        .put("to_org_id", personalOrg).put("usd", "2.00").put("reason", "pocket money"));
    assertEquals(201, transfer.statusCode(), transfer.bodyAsString());
    assertEquals(8_000_000L - cost, transfer.bodyAsJsonObject().getLong("balance_micros"));
    assertEquals(2_000_000L, ok(call("GET", "/api/orgs/" + personalOrg + "/credits", access, null))
        .getLong("balance_micros"));
    JsonObject in0 = ok(call("GET", "/api/orgs/" + personalOrg + "/credits/ledger", access, null))
        .getJsonArray("data").getJsonObject(0);
    assertEquals("transfer", in0.getString("kind"));
    assertEquals(2_000_000L, in0.getLong("amount_micros"));

    // 9. Revoke the key: /v1 answers 401 (within a second).
    HttpResponse<Buffer> revoked = call("DELETE", "/api/orgs/" + org + "/keys/" + keyId, access, null);
    assertEquals(200, revoked.statusCode(), revoked.bodyAsString());
    assertEquals("revoked", revoked.bodyAsJsonObject().getString("status"));
    int last = 0;
    deadline = System.currentTimeMillis() + 2_000;
    while (System.currentTimeMillis() < deadline && (last = call("POST", "/v1/chat/completions", secret, chat())
        .statusCode()) != 401) {
      Thread.sleep(20);
    }
    assertEquals(401, last, "a revoked key is refused");
    assertEquals("revoked", ok(call("GET", "/api/orgs/" + org + "/keys", access, null)).getJsonArray("data")
        .getJsonObject(0).getString("status"));

    // 10. The admin finds the organization and sees the deposit in the audit log.
    JsonArray found = ok(call("GET", "/api/admin/orgs?q=Founders", access, null)).getJsonArray("data");
    assertEquals(1, found.size(), found.encode());
    assertEquals(org, found.getJsonObject(0).getLong("id"));
    JsonObject details = ok(call("GET", "/api/admin/orgs/" + org, access, null));
    assertEquals(8_000_000L - cost, details.getLong("balance_micros"), details.encode());
    assertEquals(2, details.getJsonArray("members").size());
    JsonArray audit = ok(call("GET", "/api/admin/audit", access, null)).getJsonArray("data");
    JsonObject depositRow = audit.stream().map(JsonObject.class::cast)
        .filter(r -> "credits.deposit".equals(r.getString("action"))).findFirst()
        .orElseThrow(() -> new AssertionError("no credits.deposit in " + audit.encode()));
    assertEquals(email, depositRow.getString("admin_email"));
    assertEquals(String.valueOf(org), String.valueOf(depositRow.getValue("target_id")));
    assertTrue(audit.stream().anyMatch(r -> "backend.add".equals(((JsonObject) r).getString("action"))));
    // The teammate is no admin: the admin API is hidden from them.
    assertEquals(404, call("GET", "/api/admin/audit", mateAccess, null).statusCode());

    assertTrue(used.size() >= 20, "the story exercised the API: " + used);
  }

  // --- the OpenAPI gate --------------------------------------------------------------------------------------

  private void loadDocument() {
    HttpResponse<Buffer> resp = gw.client().get("/api/openapi.json").send().await();
    assertEquals(200, resp.statusCode());
    JsonObject paths = resp.bodyAsJsonObject().getJsonObject("paths");
    paths.forEach(p -> ((JsonObject) p.getValue()).fieldNames().stream().filter(OPERATIONS::contains)
        .forEach(m -> documented.add(Map.entry(m.toUpperCase(Locale.ROOT) + " " + p.getKey(),
            templateRegex(p.getKey())))));
    assertTrue(documented.size() > 20, "the document lists the API");
    checkDocumented("GET", "/api/openapi.json");
  }

  /** "/api/orgs/{orgId}/keys" → a regex where each {param} is one path segment. */
  private static Pattern templateRegex(String template) {
    StringBuilder re = new StringBuilder();
    for (String part : template.split("(?=\\{)|(?<=})")) {
      re.append(part.startsWith("{") && part.endsWith("}") ? "[^/]+" : Pattern.quote(part));
    }
    return Pattern.compile(re.toString());
  }

  /** Asserts that {@code method path} (a concrete path, query ignored) is an operation of the document. */
  private void checkDocumented(String method, String path) {
    String bare = path.replaceAll("\\?.*", "");
    String template = null;
    for (Map.Entry<String, Pattern> op : documented) {
      if (op.getKey().startsWith(method + " ") && op.getValue().matcher(bare).matches()) {
        // Prefer the literal template over a templated one (e.g. /x/export.csv over /x/{id}).
        if (template == null || !op.getKey().contains("{")) {
          template = op.getKey();
        }
      }
    }
    if (template == null) {
      fail(method + " " + bare + " is not an operation of /api/openapi.json");
    }
    used.add(template);
  }

  private HttpResponse<Buffer> call(String method, String path, String bearer, JsonObject body) {
    checkDocumented(method, path);
    HttpRequest<Buffer> r = gw.client().request(HttpMethod.valueOf(method), path);
    if (bearer != null) {
      r.bearerTokenAuthentication(bearer);
    }
    return (body == null ? r.send() : r.sendJsonObject(body)).await();
  }

  private HttpResponse<Buffer> signIn(String email) {
    return call("POST", "/api/auth/signin", null, new JsonObject().put("email", email).put("password", PASSWORD));
  }

  private static JsonObject ok(HttpResponse<Buffer> resp) {
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    return resp.bodyAsJsonObject();
  }

  private static JsonObject chat() {
    return new JsonObject().put("model", "gpt-fast").put("max_tokens", 16)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hi")));
  }

  // --- helpers: CLI, TOTP --------------------------------------------------------------------------------------

  private static int cli(String... args) {
    Env env = Env.of(Map.of("DATABASE_URL", TestServices.DATABASE_URL, "REDIS_URL", TestServices.REDIS_URL,
        "KEY_PEPPER", TestServices.PEPPER, "JWT_SECRET", TestServices.JWT_SECRET,
        "SECRETS_KEY", TestServices.SECRETS_KEY));
    PrintStream out = System.out;
    try {
      System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      return Cli.run(env, args);
    } finally {
      System.setOut(out);
    }
  }

  private static String totp(byte[] key, long step) throws Exception {
    return new TimeBasedOneTimePasswordGenerator().generateOneTimePasswordString(new SecretKeySpec(key, "HmacSHA1"),
        Instant.ofEpochSecond(step * STEP_SECONDS));
  }

  /** RFC 4648 base32 without padding, as in otpauth URIs. */
  private static byte[] base32(String text) {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int buffer = 0;
    int bits = 0;
    for (char c : text.replace("=", "").toUpperCase(Locale.ROOT).toCharArray()) {
      int v = alphabet.indexOf(c);
      assertTrue(v >= 0, "base32: " + text);
      buffer = (buffer << 5) | v;
      bits += 5;
      if (bits >= 8) {
        out.write((buffer >> (bits - 8)) & 0xff);
        bits -= 8;
      }
    }
    return out.toByteArray();
  }
}
