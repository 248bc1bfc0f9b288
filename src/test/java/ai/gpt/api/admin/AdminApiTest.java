package ai.gpt.api.admin;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.apikeys.ApiUsers.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.billing.Money;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.InProcessCli;
import ai.gpt.api.testing.InProcessCli.Result;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.pgclient.PgException;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class AdminApiTest {
  private static final String RESTORE_GPT_FAST = "UPDATE models SET input_price_micros_per_m = 250000,"
      + " output_price_micros_per_m = 500000, active = true, default_max_tokens = 1024, max_max_tokens = 16384"
      + " WHERE id = 'gpt-fast'";
  private ApiUsers users;
  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private User admin;
  private User bob;
  /** Audit rows before this test; the log is append-only, so it is never cleaned between tests. */
  private long auditBefore;

  @BeforeEach
  void setUp(Vertx vertx) throws Exception {
    users = ApiUsers.start(vertx);
    gw = users.gw;
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(8)).await();
    auditBefore = gw.pool().query("SELECT COALESCE(MAX(id), 0) FROM admin_audit").execute().await()
        .iterator().next().getLong(0);
    admin = users.signUp("root@example.com");
    bob = users.signUp("bob@example.com");
    assertEquals(0, InProcessCli.run("admin", "grant", "Root@Example.com").code());
  }

  @AfterEach
  void tearDown() {
    gw.pool().query(RESTORE_GPT_FAST).execute().await();
    users.close();
    fake.close().await();
  }

  private HttpResponse<Buffer> as(User user, String method, String path, JsonObject body) {
    return users.call(method, path, user.token(), body);
  }

  private List<Row> auditRows() {
    List<Row> rows = new ArrayList<>();
    gw.pool().preparedQuery("SELECT * FROM admin_audit WHERE id > $1 ORDER BY id").execute(Tuple.of(auditBefore))
        .await().forEach(rows::add);
    return rows;
  }

  private static JsonObject details(Row r) {
    return (JsonObject) r.getValue("details");
  }

  private static final List<String[]> ROUTES = List.of(
      new String[] {"GET", "/api/admin/users"},
      new String[] {"GET", "/api/admin/orgs?q=bob"},
      new String[] {"GET", "/api/admin/orgs/1"},
      new String[] {"PATCH", "/api/admin/orgs/1"},
      new String[] {"POST", "/api/admin/orgs/1/credits"},
      new String[] {"GET", "/api/admin/models"},
      new String[] {"PATCH", "/api/admin/models/gpt-fast"},
      new String[] {"GET", "/api/admin/backends"},
      new String[] {"POST", "/api/admin/backends"},
      new String[] {"POST", "/api/admin/backends/1/drain"},
      new String[] {"POST", "/api/admin/backends/1/enable"},
      new String[] {"DELETE", "/api/admin/backends/1"},
      new String[] {"GET", "/api/admin/monitor"},
      new String[] {"GET", "/api/admin/audit"},
      new String[] {"GET", "/api/admin/plans"},
      new String[] {"POST", "/api/admin/plans"},
      new String[] {"PATCH", "/api/admin/plans/default"});

  @Test
  @DisplayName("non-admins get the unknown-route 404 on every admin route, checked from the DB on each request")
  void hiddenFromNonAdmins() {
    JsonObject body = new JsonObject().put("usd", "5").put("reason", "x").put("active", false);
    HttpResponse<Buffer> unknown = as(bob, "GET", "/api/nothing-here", null);
    assertEquals(404, unknown.statusCode());
    for (String[] route : ROUTES) {
      HttpResponse<Buffer> r = as(bob, route[0], route[1], route[0].equals("GET") ? null : body);
      assertEquals(404, r.statusCode(), route[0] + " " + route[1] + ": " + r.bodyAsString());
      assertEquals(code(unknown), code(r));
      assertEquals("Unknown API route: " + route[0] + " " + route[1].replaceAll("\\?.*", "") + ".",
          r.bodyAsJsonObject().getJsonObject("error").getString("message"));
    }
    assertEquals("0.000000", users.call("GET", "/api/orgs/" + bob.orgId() + "/credits", bob.token(), null)
        .bodyAsJsonObject().getString("balance_usd"), "nothing was written");
    assertEquals(0, auditRows().stream().filter(r -> !"admin.grant".equals(r.getString("action"))).count());

    // The flag is read on every request: granting and revoking apply to the same access token at once.
    assertEquals(200, as(admin, "GET", "/api/admin/users", null).statusCode());
    assertEquals(0, InProcessCli.run("admin", "revoke", "root@example.com").code());
    assertEquals(404, as(admin, "GET", "/api/admin/users", null).statusCode());
    assertEquals(0, InProcessCli.run("admin", "grant", "bob@example.com").code());
    assertEquals(200, as(bob, "GET", "/api/admin/users", null).statusCode());
  }

  @Test
  @DisplayName("CLI admin grant/revoke: sets users.is_admin, audits it, and refuses unknown users and actions")
  void cliGrant() {
    assertTrue(isAdmin("root@example.com"));
    Result granted = InProcessCli.run("admin", "grant", "bob@example.com");
    assertEquals(0, granted.code(), granted.err());
    assertTrue(granted.out().contains("Granted platform admin to bob@example.com"), granted.out());
    assertTrue(isAdmin("bob@example.com"));
    Result revoked = InProcessCli.run("admin", "revoke", "bob@example.com");
    assertEquals(0, revoked.code(), revoked.err());
    assertFalse(isAdmin("bob@example.com"));
    Result missing = InProcessCli.run("admin", "grant", "nobody@example.com");
    assertEquals(1, missing.code());
    assertTrue(missing.err().contains("No user"), missing.err());
    assertEquals(1, InProcessCli.run("admin", "promote", "bob@example.com").code());

    List<Row> audit = auditRows();
    assertEquals(List.of("admin.grant", "admin.grant", "admin.revoke"),
        audit.stream().map(r -> r.getString("action")).toList());
    assertEquals(null, audit.get(1).getLong("admin_user_id"), "the CLI acts as the operator");
    assertEquals(String.valueOf(bob.id()), audit.get(1).getString("target_id"));
    assertEquals("bob@example.com", details(audit.get(1)).getString("email"));
  }

  private boolean isAdmin(String email) {
    return gw.pool().preparedQuery("SELECT is_admin FROM users WHERE email = $1").execute(Tuple.of(email)).await()
        .iterator().next().getBoolean(0);
  }

  @Test
  @DisplayName("users and orgs: search by e-mail or name, keyset pagination, and org details")
  void searchAndDetails() {
    users.signUp("carol@example.com");
    JsonObject all = as(admin, "GET", "/api/admin/users?limit=2", null).bodyAsJsonObject();
    assertEquals(2, all.getJsonArray("data").size());
    assertTrue(all.getBoolean("has_more"));
    JsonObject next = as(admin, "GET", "/api/admin/users?limit=2&before=" + all.getLong("next_before"), null)
        .bodyAsJsonObject();
    assertEquals(1, next.getJsonArray("data").size());
    assertFalse(next.getBoolean("has_more"));
    assertEquals("root@example.com", next.getJsonArray("data").getJsonObject(0).getString("email"));
    assertTrue(next.getJsonArray("data").getJsonObject(0).getBoolean("is_admin"));

    JsonArray found = as(admin, "GET", "/api/admin/users?q=BOB", null).bodyAsJsonObject().getJsonArray("data");
    assertEquals(1, found.size());
    assertEquals(bob.id(), found.getJsonObject(0).getLong("id"));
    assertEquals(400, as(admin, "GET", "/api/admin/users?limit=0", null).statusCode());
    assertEquals("before", param(as(admin, "GET", "/api/admin/users?before=x", null)));

    JsonArray orgs = as(admin, "GET", "/api/admin/orgs?q=bob@example", null).bodyAsJsonObject().getJsonArray("data");
    assertEquals(1, orgs.size(), orgs.encode());
    assertEquals(bob.orgId(), orgs.getJsonObject(0).getLong("id"));

    gw.createKey(bob.orgId(), null);
    JsonObject org = as(admin, "GET", "/api/admin/orgs/" + bob.orgId(), null).bodyAsJsonObject();
    assertEquals("default", org.getJsonObject("plan").getString("id"));
    assertEquals(600, org.getJsonObject("effective_limits").getInteger("rpm"));
    assertEquals(null, org.getJsonObject("limits").getValue("rpm"));
    assertEquals("0.000000", org.getString("balance_usd"));
    assertEquals(1, org.getInteger("key_count"));
    assertEquals("bob@example.com", org.getJsonArray("members").getJsonObject(0).getString("email"));
    assertEquals("owner", org.getJsonArray("members").getJsonObject(0).getString("role"));
    assertEquals(404, as(admin, "GET", "/api/admin/orgs/999999", null).statusCode());
  }

  @Test
  @DisplayName("credits: an admin deposits and deducts through the ledger, idempotently, with audit rows")
  void credits(Vertx vertx) {
    String path = "/api/admin/orgs/" + bob.orgId() + "/credits";
    Redis redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    try {
      redis.send(Request.cmd(Command.SET).arg(RedisKeys.balance(bob.orgId())).arg("1")).await();
      HttpResponse<Buffer> deposit = gw.client().post(path).bearerTokenAuthentication(admin.token())
          .putHeader("Idempotency-Key", "dep-1")
          .sendJsonObject(new JsonObject().put("usd", "10.00").put("reason", "welcome")).await();
      assertEquals(201, deposit.statusCode(), deposit.bodyAsString());
      assertEquals("10.000000", deposit.bodyAsJsonObject().getString("balance_usd"));
      assertEquals("credit", deposit.bodyAsJsonObject().getString("kind"));
      assertEquals("10000001", redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(bob.orgId()))).await()
          .toString(), "the hot balance gets the credit too");

      // The same Idempotency-Key again: nothing new, neither in the ledger nor in the audit log.
      HttpResponse<Buffer> replay = gw.client().post(path).bearerTokenAuthentication(admin.token())
          .putHeader("Idempotency-Key", "dep-1")
          .sendJsonObject(new JsonObject().put("usd", "10.00").put("reason", "welcome")).await();
      assertEquals(200, replay.statusCode());
      assertTrue(replay.bodyAsJsonObject().getBoolean("replayed"));

      HttpResponse<Buffer> deduct = as(admin, "POST", path, new JsonObject().put("usd", "-2.5")
          .put("reason", "refund reversal"));
      assertEquals(201, deduct.statusCode(), deduct.bodyAsString());
      assertEquals(7_500_000L, deduct.bodyAsJsonObject().getLong("balance_micros"));
      assertEquals("adjustment", deduct.bodyAsJsonObject().getString("kind"));
    } finally {
      redis.close();
    }
    assertEquals(7_500_000L, gw.ledgerBalance(bob.orgId()));
    assertEquals("7.500000", users.call("GET", "/api/orgs/" + bob.orgId() + "/credits", bob.token(), null)
        .bodyAsJsonObject().getString("balance_usd"));
    List<Row> ledger = new ArrayList<>();
    gw.pool().preparedQuery("SELECT * FROM credit_ledger WHERE org_id = $1 ORDER BY id").execute(
        Tuple.of(bob.orgId())).await().forEach(ledger::add);
    assertEquals(2, ledger.size());
    assertEquals(10_000_000L, ledger.get(0).getLong("amount_micros"));
    assertEquals("welcome", ledger.get(0).getString("reason"));
    assertEquals(-2_500_000L, ledger.get(1).getLong("amount_micros"));

    List<Row> audit = auditRows().stream().filter(r -> r.getString("action").startsWith("credits.")).toList();
    assertEquals(List.of("credits.deposit", "credits.deduct"), audit.stream().map(r -> r.getString("action")).toList());
    assertEquals(admin.id(), audit.get(0).getLong("admin_user_id"));
    assertEquals(String.valueOf(bob.orgId()), audit.get(0).getString("target_id"));
    assertEquals(ledger.get(0).getLong("id"), details(audit.get(0)).getLong("ledger_entry_id"));
    assertEquals(-2_500_000L, details(audit.get(1)).getLong("amount_micros"));

    // A credit that would take the balance above Money.MAX_BALANCE_MICROS ($1,000,000,000) is a 400, not a bigint
    // overflow (500) nor a balance the hot balance's Lua doubles cannot hold; nothing is written.
    for (String usd : List.of("999999999.000001", "9223372036854.775807")) {
      HttpResponse<Buffer> over = as(admin, "POST", path, new JsonObject().put("usd", usd).put("reason", "r"));
      assertEquals(400, over.statusCode(), over.bodyAsString());
      assertEquals("invalid_amount", code(over));
      assertEquals("usd", param(over));
    }
    assertEquals(7_500_000L, gw.ledgerBalance(bob.orgId()));
    // Clear 400s; an unknown organization is 404 and writes nothing.
    assertEquals("reason", param(as(admin, "POST", path, new JsonObject().put("usd", "1"))));
    assertEquals("usd", param(as(admin, "POST", path, new JsonObject().put("usd", 1).put("reason", "r"))));
    assertEquals("usd", param(as(admin, "POST", path, new JsonObject().put("usd", "0").put("reason", "r"))));
    assertEquals("usd", param(as(admin, "POST", path, new JsonObject().put("usd", "0.0000001").put("reason", "r"))));
    assertEquals("invalid_json", code(gw.client().post(path).bearerTokenAuthentication(admin.token())
        .sendBuffer(Buffer.buffer("[1]")).await()));
    assertEquals(404, as(admin, "POST", "/api/admin/orgs/999999/credits",
        new JsonObject().put("usd", "1").put("reason", "r")).statusCode());
    assertEquals(2, auditRows().stream().filter(r -> r.getString("action").startsWith("credits.")).count());
  }

  @Test
  @DisplayName("plan and limits: a PATCH shows at once in a real /v1 request's x-ratelimit headers")
  void limitsTakeEffect() {
    gw.pool().query("INSERT INTO plans (id, name, rpm, rph, rpd, tpm, tph, tpd, concurrency) VALUES"
        + " ('admin-test-pro', 'Pro', 1000, 50000, 500000, 3000000, 60000000, 600000000, 64)"
        + " ON CONFLICT (id) DO NOTHING").execute().await();
    gw.addBackend("gpt-fast", fake);
    long org = gw.createOrg("limited");
    String key = gw.createKey(org, null);
    assertEquals("600", chat(key).getHeader("x-ratelimit-limit-requests"));

    String path = "/api/admin/orgs/" + org;
    HttpResponse<Buffer> set = as(admin, "PATCH", path, new JsonObject()
        .put("limits", new JsonObject().put("rpm", 50).put("tpm", 12345)));
    assertEquals(200, set.statusCode(), set.bodyAsString());
    assertEquals(50, set.bodyAsJsonObject().getJsonObject("effective_limits").getInteger("rpm"));
    awaitHeader(key, "x-ratelimit-limit-requests", "50");
    assertEquals("12345", chat(key).getHeader("x-ratelimit-limit-tokens"));

    HttpResponse<Buffer> plan = as(admin, "PATCH", path, new JsonObject().put("plan_id", "admin-test-pro")
        .put("limits", new JsonObject().put("rpm", null).put("tpm", null)));
    assertEquals(200, plan.statusCode(), plan.bodyAsString());
    assertEquals("admin-test-pro", plan.bodyAsJsonObject().getJsonObject("plan").getString("id"));
    awaitHeader(key, "x-ratelimit-limit-requests", "1000");
    assertEquals("3000000", chat(key).getHeader("x-ratelimit-limit-tokens"));

    Row audit = auditRows().stream().filter(r -> r.getString("action").equals("org.update")).toList().get(1);
    assertEquals("default", details(audit).getJsonObject("before").getString("plan_id"));
    assertEquals(50, details(audit).getJsonObject("before").getInteger("rpm"));
    assertEquals("admin-test-pro", details(audit).getJsonObject("after").getString("plan_id"));

    assertEquals("plan_id", param(as(admin, "PATCH", path, new JsonObject().put("plan_id", "nope"))));
    assertEquals("limits.rpm", param(as(admin, "PATCH", path,
        new JsonObject().put("limits", new JsonObject().put("rpm", 0)))));
    assertEquals("limits.rpm", param(as(admin, "PATCH", path,
        new JsonObject().put("limits", new JsonObject().put("rpm", "10")))));
    assertEquals("limits.qps", param(as(admin, "PATCH", path,
        new JsonObject().put("limits", new JsonObject().put("qps", 1)))));
    assertEquals("color", param(as(admin, "PATCH", path, new JsonObject().put("color", "red"))));
    assertEquals(400, as(admin, "PATCH", path, new JsonObject()).statusCode());
    assertEquals(404, as(admin, "PATCH", "/api/admin/orgs/999999", new JsonObject().put("plan_id", "default"))
        .statusCode());
    assertEquals(2, auditRows().stream().filter(r -> r.getString("action").equals("org.update")).count());
  }

  @Test
  @DisplayName("plans: an admin creates and changes plans (price, included credit, for sale, Stripe Price, limits),"
      + " each field checked with a 400 naming it, audited; a limit change reaches every gateway's keys")
  void plans() {
    String team = "team-admin-test";
    HttpResponse<Buffer> created = as(admin, "POST", "/api/admin/plans", new JsonObject().put("id", team)
        .put("name", "Team").put("description", "For teams").put("monthly_price_usd", "49.99")
        .put("included_credit_usd", "60").put("for_sale", true)
        .put("limits", new JsonObject().put("rpm", 120).put("concurrency", null)));
    assertEquals(201, created.statusCode(), created.bodyAsString());
    JsonObject plan = created.bodyAsJsonObject();
    assertEquals(49_990_000L, plan.getLong("monthly_price_micros"));
    assertEquals("49.990000", plan.getString("monthly_price_usd"));
    assertEquals(60_000_000L, plan.getLong("included_credit_micros"));
    assertEquals(true, plan.getBoolean("for_sale"));
    assertEquals(120L, plan.getJsonObject("limits").getLong("rpm"));
    assertEquals(null, plan.getJsonObject("limits").getValue("tpd"), "unset limits are unlimited");
    HttpResponse<Buffer> again = as(admin, "POST", "/api/admin/plans", new JsonObject().put("id", team)
        .put("name", "Team"));
    assertEquals(409, again.statusCode());
    assertEquals("plan_exists", code(again));

    // Each field is checked, and the 400 names it.
    String path = "/api/admin/plans/" + team;
    Map<String, JsonObject> refused = new LinkedHashMap<>();
    refused.put("monthly_price_usd", new JsonObject().put("monthly_price_usd", "10.001"));
    refused.put("included_credit_usd", new JsonObject().put("included_credit_usd", 10));
    refused.put("limits.rpm", new JsonObject().put("limits", new JsonObject().put("rpm", 0)));
    refused.put("limits.tpd", new JsonObject().put("limits", new JsonObject().put("tpd", 1.5)));
    refused.put("limits.qps", new JsonObject().put("limits", new JsonObject().put("qps", 1)));
    refused.put("for_sale", new JsonObject().put("for_sale", "yes"));
    refused.put("stripe_price_id", new JsonObject().put("stripe_price_id", "prod_123"));
    refused.put("name", new JsonObject().put("name", " "));
    refused.put("price", new JsonObject().put("price", "10"));
    refused.forEach((param, body) -> {
      HttpResponse<Buffer> r = as(admin, "PATCH", path, body);
      assertEquals(400, r.statusCode(), param + ": " + r.bodyAsString());
      assertEquals(param, param(r), r.bodyAsString());
    });
    assertEquals("invalid_amount", code(as(admin, "PATCH", path, new JsonObject().put("monthly_price_usd", "ten"))));
    // Credit a plan includes goes into a balance: at most Money.MAX_BALANCE_MICROS ($1,000,000,000).
    HttpResponse<Buffer> tooMuch = as(admin, "PATCH", path,
        new JsonObject().put("included_credit_usd", "9223372036854.775807"));
    assertEquals("included_credit_usd", param(tooMuch), tooMuch.bodyAsString());
    assertEquals("invalid_amount", code(tooMuch));
    assertEquals("id", param(as(admin, "POST", "/api/admin/plans", new JsonObject().put("id", "Bad Id")
        .put("name", "x"))));
    assertEquals("name", param(as(admin, "POST", "/api/admin/plans", new JsonObject().put("id", "nameless"))));
    assertEquals("monthly_price_usd", param(as(admin, "POST", "/api/admin/plans", new JsonObject()
        .put("id", "free-admin-test").put("name", "Free").put("for_sale", true))), "for sale needs a price");
    assertEquals("for_sale", param(as(admin, "PATCH", "/api/admin/plans/default", new JsonObject()
        .put("for_sale", true).put("monthly_price_usd", "5"))), "the free fallback is never sold");
    assertEquals(404, as(admin, "PATCH", "/api/admin/plans/ghost", new JsonObject().put("name", "x")).statusCode());
    assertEquals(400, as(admin, "PATCH", path, new JsonObject()).statusCode());
    assertEquals(200, as(admin, "PATCH", path, new JsonObject().put("stripe_price_id", "price_adminTest"))
        .statusCode());
    assertEquals("stripe_price_id", param(as(admin, "POST", "/api/admin/plans", new JsonObject()
        .put("id", "solo-admin-test").put("name", "Solo").put("stripe_price_id", "price_adminTest"))),
        "one plan per Stripe Price");

    // An organization on the plan: a limit change applies to its keys at once, on every gateway.
    gw.addBackend("gpt-fast", fake);
    long org = gw.createOrg("teamed");
    gw.pool().preparedQuery("UPDATE organizations SET plan_id = $1 WHERE id = $2").execute(Tuple.of(team, org))
        .await();
    String key = gw.createKey(org, null);
    assertEquals("120", chat(key).getHeader("x-ratelimit-limit-requests"));
    HttpResponse<Buffer> changed = as(admin, "PATCH", path, new JsonObject().put("monthly_price_usd", "39")
        .put("stripe_price_id", null).put("limits", new JsonObject().put("rpm", 90)));
    assertEquals(200, changed.statusCode(), changed.bodyAsString());
    assertEquals(null, changed.bodyAsJsonObject().getValue("stripe_price_id"));
    awaitHeader(key, "x-ratelimit-limit-requests", "90");

    JsonObject listed = as(admin, "GET", "/api/admin/plans", null).bodyAsJsonObject().getJsonArray("data").stream()
        .map(p -> (JsonObject) p).filter(p -> p.getString("id").equals(team)).findFirst().orElseThrow();
    assertEquals(1L, listed.getLong("organizations"));
    assertEquals(39_000_000L, listed.getLong("monthly_price_micros"));

    List<Row> audit = auditRows().stream().filter(r -> r.getString("action").startsWith("plan.")).toList();
    assertEquals(List.of("plan.create", "plan.update", "plan.update"), audit.stream().map(r -> r.getString("action"))
        .toList());
    assertEquals(team, audit.get(0).getString("target_id"));
    assertEquals(admin.id(), audit.get(2).getLong("admin_user_id"));
    assertEquals(120L, details(audit.get(2)).getJsonObject("before").getJsonObject("limits").getLong("rpm"));
    assertEquals("39.000000", details(audit.get(2)).getJsonObject("after").getString("monthly_price_usd"));
  }

  private HttpResponse<Buffer> chat(String key) {
    HttpResponse<Buffer> r = gw.post("/v1/chat/completions", key,
        ai.gpt.api.proxy.ChatCompletionsTestSupport.chat("gpt-fast").put("max_tokens", 5));
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r;
  }

  private void awaitHeader(String key, String header, String value) {
    AtomicReference<String> last = new AtomicReference<>();
    try {
      GatewayHarness.awaitTrue(header + " = " + value, () -> {
        last.set(chat(key).getHeader(header));
        return value.equals(last.get());
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + " (last: " + last.get() + ")");
    }
  }

  @Test
  @DisplayName("models: a price PATCH (exact decimal strings) changes usage.cost of the next request")
  void modelPrice() {
    gw.addBackend("gpt-fast", fake);
    String key = gw.createKey(gw.createOrg("priced"), null);
    JsonObject before = chat(key).bodyAsJsonObject().getJsonObject("usage");
    assertCost(before, 250_000, 500_000);

    HttpResponse<Buffer> patched = as(admin, "PATCH", "/api/admin/models/gpt-fast", new JsonObject()
        .put("input_price_usd_per_m", "2.5").put("output_price_usd_per_m", "12.000001"));
    assertEquals(200, patched.statusCode(), patched.bodyAsString());
    assertEquals(2_500_000L, patched.bodyAsJsonObject().getLong("input_price_micros_per_m"));
    assertEquals("12.000001", patched.bodyAsJsonObject().getString("output_price_usd_per_m"));
    JsonObject listed = as(admin, "GET", "/api/admin/models", null).bodyAsJsonObject().getJsonArray("data").stream()
        .map(JsonObject.class::cast).filter(m -> m.getString("id").equals("gpt-fast")).findFirst().orElseThrow();
    assertEquals(12_000_001L, listed.getLong("output_price_micros_per_m"));

    // The catalog reloads live through the NOTIFY trigger; poll until this gateway prices at the new rate.
    GatewayHarness.awaitTrue("new price in usage.cost", () -> {
      JsonObject usage = chat(key).bodyAsJsonObject().getJsonObject("usage");
      return costMatches(usage, 2_500_000, 12_000_001);
    });

    Row audit = auditRows().stream().filter(r -> r.getString("action").equals("model.update")).findFirst()
        .orElseThrow();
    assertEquals("gpt-fast", audit.getString("target_id"));
    assertEquals(250_000L, details(audit).getJsonObject("before").getLong("input_price_micros_per_m"));
    assertEquals(2_500_000L, details(audit).getJsonObject("after").getLong("input_price_micros_per_m"));

    String path = "/api/admin/models/gpt-fast";
    assertEquals("input_price_usd_per_m", param(as(admin, "PATCH", path,
        new JsonObject().put("input_price_usd_per_m", 0.3))));
    assertEquals("input_price_usd_per_m", param(as(admin, "PATCH", path,
        new JsonObject().put("input_price_usd_per_m", "-1"))));
    assertEquals("output_price_usd_per_m", param(as(admin, "PATCH", path,
        new JsonObject().put("output_price_usd_per_m", "0.0000001"))));
    // A price whose cost overflowed a long made every request to the model a 500: at most $1,000 per 1M tokens.
    HttpResponse<Buffer> dear = as(admin, "PATCH", path,
        new JsonObject().put("input_price_usd_per_m", "9223372036854.775807"));
    assertEquals("input_price_usd_per_m", param(dear), dear.bodyAsString());
    assertEquals("invalid_amount", code(dear));
    assertEquals("output_price_usd_per_m", param(as(admin, "PATCH", path,
        new JsonObject().put("output_price_usd_per_m", "1000.000001"))));
    assertEquals("active", param(as(admin, "PATCH", path, new JsonObject().put("active", "no"))));
    assertEquals("max_max_tokens", param(as(admin, "PATCH", path, new JsonObject().put("max_max_tokens", 10))));
    assertEquals(404, as(admin, "PATCH", "/api/admin/models/nope", new JsonObject().put("active", false))
        .statusCode());
    HttpResponse<Buffer> off = as(admin, "PATCH", path, new JsonObject().put("active", false)
        .put("default_max_tokens", 100).put("max_max_tokens", 200));
    assertEquals(200, off.statusCode(), off.bodyAsString());
    assertFalse(off.bodyAsJsonObject().getBoolean("active"));
    GatewayHarness.awaitTrue("inactive model refused", () -> gw.post("/v1/chat/completions", key,
        ai.gpt.api.proxy.ChatCompletionsTestSupport.chat("gpt-fast")).statusCode() == 404);
  }

  private static boolean costMatches(JsonObject usage, long in, long out) {
    BigDecimal expected = Money.toUsd(Money.requestCost(usage.getLong("prompt_tokens"),
        usage.getLong("completion_tokens"), in, out));
    return expected.compareTo(new BigDecimal(usage.getValue("cost").toString())) == 0;
  }

  private static void assertCost(JsonObject usage, long in, long out) {
    assertTrue(costMatches(usage, in, out), usage.encode());
  }

  @Test
  @DisplayName("backends: add, drain, enable and remove apply live, with audit rows")
  void backends() {
    HttpResponse<Buffer> added = as(admin, "POST", "/api/admin/backends", new JsonObject()
        .put("model", "gpt-fast").put("url", fake.baseUrl()).put("slots", 8));
    assertEquals(201, added.statusCode(), added.bodyAsString());
    long id = added.bodyAsJsonObject().getLong("id");
    GatewayHarness.awaitTrue("backend healthy", () -> gw.backendHealthy(id));
    JsonObject listed = as(admin, "GET", "/api/admin/backends", null).bodyAsJsonObject().getJsonArray("data")
        .getJsonObject(0);
    assertEquals(id, listed.getLong("id"));
    assertEquals("healthy", listed.getString("health"));
    assertEquals(8, listed.getInteger("slots"));
    String key = gw.createKey(gw.createOrg("routed"), null);
    chat(key);

    assertEquals(409, as(admin, "POST", "/api/admin/backends", new JsonObject().put("model", "gpt-fast")
        .put("url", fake.baseUrl())).statusCode());
    assertEquals("model", param(as(admin, "POST", "/api/admin/backends", new JsonObject().put("model", "nope")
        .put("url", fake.baseUrl()))));
    assertEquals("url", param(as(admin, "POST", "/api/admin/backends", new JsonObject().put("model", "gpt-fast")
        .put("url", "ftp://x"))));
    // Credentials in a URL would reach the audit log and admin views: refused, they go in api_key.
    assertEquals("url", param(as(admin, "POST", "/api/admin/backends", new JsonObject().put("model", "gpt-fast")
        .put("url", "http://user:secret@127.0.0.1:1"))));
    assertEquals("url", param(as(admin, "POST", "/api/admin/backends", new JsonObject().put("model", "gpt-fast")
        .put("url", "http://127.0.0.1:1/?token=secret"))));
    assertEquals("slots", param(as(admin, "POST", "/api/admin/backends", new JsonObject().put("model", "gpt-fast")
        .put("url", "http://127.0.0.1:1").put("slots", 0))));

    HttpResponse<Buffer> drained = as(admin, "POST", "/api/admin/backends/" + id + "/drain", null);
    assertEquals(200, drained.statusCode(), drained.bodyAsString());
    assertEquals("draining", state(id));
    // A draining backend takes no new requests; its model has no other backend.
    GatewayHarness.awaitTrue("drained", () -> gw.post("/v1/chat/completions", key,
        ai.gpt.api.proxy.ChatCompletionsTestSupport.chat("gpt-fast")).statusCode() == 503);
    assertEquals(200, as(admin, "POST", "/api/admin/backends/" + id + "/enable", null).statusCode());
    assertEquals("enabled", state(id));
    GatewayHarness.awaitTrue("enabled", () -> gw.post("/v1/chat/completions", key,
        ai.gpt.api.proxy.ChatCompletionsTestSupport.chat("gpt-fast")).statusCode() == 200);

    JsonObject monitor = as(admin, "GET", "/api/admin/monitor", null).bodyAsJsonObject();
    assertEquals("healthy", monitor.getJsonArray("backends").getJsonObject(0).getString("health"));
    GatewayHarness.awaitTrue("usage written", () -> as(admin, "GET", "/api/admin/monitor", null).bodyAsJsonObject()
        .getJsonObject("today").getLong("requests") >= 2);
    monitor = as(admin, "GET", "/api/admin/monitor", null).bodyAsJsonObject();
    assertEquals("routed", monitor.getJsonArray("top_orgs").getJsonObject(0).getString("name"));
    assertTrue(monitor.getJsonObject("today").getLong("cost_micros") > 0);
    assertNotNull(monitor.getJsonArray("recent_requests").getJsonObject(0).getString("request_id"));

    assertEquals(200, as(admin, "DELETE", "/api/admin/backends/" + id, null).statusCode());
    assertEquals(0L, gw.pool().preparedQuery("SELECT count(*) FROM backends WHERE id = $1").execute(Tuple.of(id))
        .await().iterator().next().getLong(0));
    GatewayHarness.awaitTrue("removed", () -> gw.post("/v1/chat/completions", key,
        ai.gpt.api.proxy.ChatCompletionsTestSupport.chat("gpt-fast")).statusCode() == 503);
    assertEquals(404, as(admin, "DELETE", "/api/admin/backends/" + id, null).statusCode());
    assertEquals(404, as(admin, "POST", "/api/admin/backends/" + id + "/drain", null).statusCode());

    assertEquals(List.of("backend.add", "backend.drain", "backend.enable", "backend.remove"), auditRows().stream()
        .map(r -> r.getString("action")).filter(a -> a.startsWith("backend.")).toList());
    JsonArray audit = as(admin, "GET", "/api/admin/audit?limit=2", null).bodyAsJsonObject().getJsonArray("data");
    assertEquals("backend.remove", audit.getJsonObject(0).getString("action"));
    assertEquals("root@example.com", audit.getJsonObject(0).getString("admin_email"));
    assertEquals(fake.baseUrl(), audit.getJsonObject(0).getJsonObject("details").getJsonObject("before")
        .getString("url"));
  }

  private String state(long id) {
    return gw.pool().preparedQuery("SELECT state FROM backends WHERE id = $1").execute(Tuple.of(id)).await()
        .iterator().next().getString(0);
  }

  @Test
  @DisplayName("the audit log is append-only: PostgreSQL refuses UPDATE, DELETE and TRUNCATE")
  void auditIsAppendOnly() {
    assertEquals(201, as(admin, "POST", "/api/admin/orgs/" + bob.orgId() + "/credits",
        new JsonObject().put("usd", "1").put("reason", "r")).statusCode());
    long id = auditRows().get(auditRows().size() - 1).getLong("id");
    PgException update = assertThrows(PgException.class, () -> gw.pool()
        .preparedQuery("UPDATE admin_audit SET action = 'nothing' WHERE id = $1").execute(Tuple.of(id)).await());
    assertTrue(update.getMessage().contains("append-only"), update.getMessage());
    assertThrows(PgException.class, () -> gw.pool().preparedQuery("DELETE FROM admin_audit WHERE id = $1")
        .execute(Tuple.of(id)).await());
    assertThrows(PgException.class, () -> gw.pool().query("TRUNCATE admin_audit").execute().await());
    assertEquals("credits.deposit", auditRows().get(auditRows().size() - 1).getString("action"));
  }
}
