package ai.gpt.api.cli;

import static ai.gpt.api.proxy.ChatCompletionsTestSupport.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.InProcessCli;
import ai.gpt.api.testing.InProcessCli.Result;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Vertx;
import ai.gpt.api.limits.RedisKeys;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.sqlclient.Row;
import io.vertx.redis.client.Request;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class CliTest {
  private GatewayHarness gw;
  private FakeLlamaServer fake;

  @BeforeEach
  void setUp(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options()).await();
  }

  @AfterEach
  void tearDown() {
    gw.close();
    fake.close().await();
  }

  /**
   * What the CLI printed, without the lines the in-process gateway logged meanwhile (System.out is shared): e.g.
   * "Removed backend 1 (gpt-fast http://...)" logged while the next "backend list" runs would name the URL.
   */
  @Test
  @DisplayName("CLI numbers, amounts and dates use the API's parsers and rules: a past --expires fails as in the API")
  void strictArguments() {
    assertEquals(0, InProcessCli.run("org", "create", "acme").code());
    Result past = InProcessCli.run("key", "create", "--org", "acme", "--expires", "2020-01-01T00:00:00Z");
    assertTrue(past.code() != 0, past.out());
    assertTrue(past.err().contains("--expires must be in the future"), past.err());
    for (String usd : List.of("1e3", "\u0661", "$1", "1,000", "-1")) {
      Result bad = InProcessCli.run("credits", "add", "--org", "acme", "--usd", usd, "--reason", "x");
      assertTrue(bad.code() != 0, usd + " " + bad.out());
    }
    assertTrue(InProcessCli.run("limits", "set", "--org", "acme", "--rpm", "\u0661\u0660").code() != 0);
    assertTrue(InProcessCli.run("backend", "drain", "\u0661").code() != 0);
    assertTrue(InProcessCli.run("backend", "add", "--model", "gpt-fast", "--url", fake.baseUrl(), "--slots", "+2").code() != 0);
  }

  @Test
  @DisplayName("org create, key create (printed once) and key revoke work end to end against the gateway")
  void orgAndKeys() {
    assertEquals(0, InProcessCli.run("org", "create", "acme").code());
    Result dup = InProcessCli.run("org", "create", "acme");
    assertEquals(1, dup.code());
    assertTrue(dup.err().contains("already exists"), dup.err());

    assertEquals(0, InProcessCli.run("backend", "add", "--model", "gpt-fast", "--url", fake.baseUrl()).code());
    GatewayHarness.awaitTrue("backend picked up live", () -> gw.backendHealthy(1));

    Result created = InProcessCli.run("key", "create", "--org", "acme", "--name", "ci", "--models", "gpt-fast");
    assertEquals(0, created.code(), created.err());
    String key = created.out().strip();
    assertTrue(key.startsWith("gpt_live_"), key);
    var broke = gw.post("/v1/chat/completions", key, chat("gpt-fast"));
    assertEquals(402, broke.statusCode(), "a new organization has no credit");
    assertEquals("insufficient_quota", broke.bodyAsJsonObject().getJsonObject("error").getString("type"));
    assertEquals(0, InProcessCli.run("credits", "add", "--org", "acme", "--usd", "1", "--reason", "trial").code());
    assertEquals(200, gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode(),
        "the credit reaches the running gateway at once");
    assertEquals(403, gw.post("/v1/chat/completions", key, chat("gpt-full")).statusCode());

    String publicId = key.substring("gpt_live_".length(), "gpt_live_".length() + 12);
    Result revoked = InProcessCli.run("key", "revoke", publicId);
    assertEquals(0, revoked.code(), revoked.err());
    GatewayHarness.awaitTrue("revocation", () -> gw.post("/v1/chat/completions", key, chat("gpt-fast")).statusCode() == 401);
  }

  @Test
  @DisplayName("backend add, list, drain, enable and remove; bad input exits 1 with a clear message")
  void backends() {
    assertEquals(0, InProcessCli.run("backend", "add", "--model", "gpt-fast", "--url", fake.baseUrl(), "--slots", "8").code());
    Result list = InProcessCli.run("backend", "list");
    assertTrue(list.out().contains(fake.baseUrl()) && list.out().contains("enabled"), list.out());
    assertEquals(0, InProcessCli.run("backend", "drain", "1").code());
    assertTrue(InProcessCli.run("backend", "list").out().contains("draining"));
    assertEquals(0, InProcessCli.run("backend", "enable", "1").code());
    assertEquals(0, InProcessCli.run("backend", "remove", "1").code());
    String after = InProcessCli.run("backend", "list").out();
    assertTrue(!after.contains(fake.baseUrl()), after);

    assertError(InProcessCli.run("backend", "add", "--model", "nope", "--url", fake.baseUrl()), "Unknown model 'nope'");
    assertError(InProcessCli.run("backend", "add", "--model", "gpt-fast", "--url", "ftp://x"), "--url must be");
    assertError(InProcessCli.run("backend", "add", "--model", "gpt-fast", "--url", fake.baseUrl(), "--slots", "0"), "--slots");
    assertError(InProcessCli.run("backend", "drain", "999"), "No backend with id 999");
    assertError(InProcessCli.run("key", "create", "--org", "missing"), "No organization");
    assertError(InProcessCli.run("key", "revoke", "nope"), "No key");
    assertError(InProcessCli.run("frobnicate"), "Unknown command");
  }

  @Test
  @DisplayName("credits add writes the ledger exactly once per idempotency key, drops the hot balance; credits show lists it")
  void credits(Vertx vertx) {
    assertEquals(0, InProcessCli.run("org", "create", "payer").code());
    Redis redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(TestServices.REDIS_URL));
    redis.send(Request.cmd(Command.SET).arg(RedisKeys.balance(1)).arg("5")).await();

    Result added = InProcessCli.run("credits", "add", "--org", "payer", "--usd", "10.25", "--reason", "welcome");
    assertEquals(0, added.code(), added.err());
    assertTrue(added.out().contains("$10.25"), added.out());
    assertEquals(null, redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(1))).await(),
        "the hot balance is reloaded from the ledger on next use");

    assertEquals(0, InProcessCli.run("credits", "add", "--org", "payer", "--usd", "1", "--reason", "r", "--idempotency-key", "k1").code());
    Result again = InProcessCli.run("credits", "add", "--org", "payer", "--usd", "1", "--reason", "r", "--idempotency-key", "k1");
    assertEquals(0, again.code(), again.err());
    assertTrue(again.out().startsWith("Already credited"), again.out());

    Result shown = InProcessCli.run("credits", "show", "--org", "payer");
    assertEquals(0, shown.code(), shown.err());
    assertTrue(shown.out().contains("balance $11.25"), shown.out());
    assertTrue(shown.out().contains("welcome"), shown.out());

    assertError(InProcessCli.run("credits", "add", "--org", "payer", "--usd", "1.2345678", "--reason", "x"), "--usd");
    assertError(InProcessCli.run("credits", "add", "--org", "nobody", "--usd", "1", "--reason", "x"), "No organization");
    assertError(InProcessCli.run("credits", "add", "--org", "payer", "--usd", "1"), "--reason");
    redis.close();
  }

  @Test
  @DisplayName("credits reload drops one organization's hot balance, reload-all every organization's (several pages)")
  void reloadHotBalances(Vertx vertx) {
    gw.pool().query("INSERT INTO organizations (name) SELECT 'bulk-' || g FROM generate_series(1, 2500) g").execute()
        .await();
    Row range = gw.pool().query("SELECT min(id), max(id) FROM organizations").execute().await().iterator().next();
    long[] ids = {range.getLong(0), range.getLong(1)};
    Redis redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(TestServices.REDIS_URL));
    for (long id : new long[] {ids[0], ids[0] + 1, ids[1]}) {
      redis.send(Request.cmd(Command.SET).arg(RedisKeys.balance(id)).arg("5")).await();
    }

    Result one = InProcessCli.run("credits", "reload", "--org", Long.toString(ids[0]));
    assertEquals(0, one.code(), one.err());
    assertEquals(null, redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(ids[0]))).await());
    assertEquals("5", redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(ids[1]))).await().toString(),
        "only that organization's");

    Result all = InProcessCli.run("credits", "reload-all");
    assertEquals(0, all.code(), all.err());
    assertTrue(all.out().contains((ids[1] - ids[0] + 1) + " organizations"), all.out());
    for (long id : new long[] {ids[0] + 1, ids[1]}) {
      assertEquals(null, redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(id))).await(), "org " + id);
    }
    assertError(InProcessCli.run("credits", "reload"), "--org");
    assertError(InProcessCli.run("credits", "reload-all", "--org", "x"), "Unknown option");
    redis.close();
  }

  @Test
  @DisplayName("limits set/show: org overrides its plan, 'none' restores the plan, key limits narrow; bad input exits 1")
  void limits() {
    assertEquals(0, InProcessCli.run("org", "create", "limited").code());
    Result set = InProcessCli.run("limits", "set", "--org", "limited", "--rpm", "7", "--concurrency", "2");
    assertEquals(0, set.code(), set.err());
    assertTrue(set.out().matches("(?s).*rpm\\s+600\\s+7\\s+7.*"), set.out());
    assertTrue(set.out().matches("(?s).*concurrency\\s+32\\s+2\\s+2.*"), set.out());
    Result cleared = InProcessCli.run("limits", "set", "--org", "limited", "--rpm", "none");
    assertTrue(cleared.out().matches("(?s).*rpm\\s+600\\s+-\\s+600.*"), cleared.out());

    String key = InProcessCli.run("key", "create", "--org", "limited").out().strip();
    String publicId = key.substring(9, 21);
    Result keySet = InProcessCli.run("limits", "set", "--key", publicId, "--tpm", "100000");
    assertEquals(0, keySet.code(), keySet.err());
    assertTrue(InProcessCli.run("limits", "show", "--key", publicId).out().matches("(?s).*tpm\\s+100000.*"));

    // The running gateway applies both at once: the key's tpm, and a new org rpm (every key is reloaded).
    gw.addBackend("gpt-fast", fake);
    assertEquals(0, InProcessCli.run("credits", "add", "--org", "limited", "--usd", "1", "--reason", "test").code());
    assertEquals(0, InProcessCli.run("limits", "set", "--org", "limited", "--rpm", "9").code());
    GatewayHarness.awaitTrue("limits applied", () -> {
      var resp = gw.post("/v1/chat/completions", key, chat("gpt-fast"));
      return resp.statusCode() == 200 && "9".equals(resp.getHeader("x-ratelimit-limit-requests"))
          && "100000".equals(resp.getHeader("x-ratelimit-limit-tokens"));
    });
    assertError(InProcessCli.run("limits", "set", "--org", "limited", "--rpm", "0"), "--rpm must be");

    assertError(InProcessCli.run("limits", "set", "--org", "limited", "--rpm", "-1"), "--rpm must be");
    assertError(InProcessCli.run("limits", "set", "--org", "limited", "--plan", "gold"), "Unknown plan 'gold'");
    assertError(InProcessCli.run("limits", "set", "--key", publicId, "--plan", "default"), "organizations only");
    assertError(InProcessCli.run("limits", "set", "--org", "limited"), "Nothing to set");
    assertError(InProcessCli.run("limits", "show"), "exactly one of");
    assertError(InProcessCli.run("limits", "show", "--org", "ghost"), "No organization");
  }

  @Test
  @DisplayName("plan create/set/list: the admin API's checks and audit rows; 'none' clears; bad input exits 1")
  void plans() {
    Result created = InProcessCli.run("plan", "create", "cli-test", "--name", "CLI test", "--monthly-price-usd", "9.99",
        "--included-credit-usd", "10", "--for-sale", "true", "--rpm", "5", "--description", "Made by the CLI");
    assertEquals(0, created.code(), created.err());
    assertTrue(created.out().contains("$9.99 a month, $10.00 of credit included, for sale"), created.out());
    assertTrue(created.out().matches("(?s).*rpm\\s+5\\n.*"), created.out());
    Result set = InProcessCli.run("plan", "set", "cli-test", "--rpm", "none", "--concurrency", "3", "--stripe-price-id",
        "price_cliTest");
    assertEquals(0, set.code(), set.err());
    assertTrue(set.out().matches("(?s).*rpm\\s+-\\n.*concurrency\\s+3\\n.*"), set.out());
    assertTrue(set.out().contains("Stripe Price price_cliTest"), set.out());
    Result list = InProcessCli.run("plan", "list");
    assertTrue(list.out().matches("(?s).*cli-test\\s+CLI test\\s+\\$9\\.99\\s+\\$10\\.00\\s+yes.*"), list.out());
    assertTrue(list.out().contains("default"), list.out());
    assertEquals(2L, gw.pool().query("SELECT count(*) FROM admin_audit WHERE target_type = 'plan'"
        + " AND target_id = 'cli-test' AND admin_user_id IS NULL AND details->>'via' = 'cli'").execute().await()
        .iterator().next().getLong(0));

    assertError(InProcessCli.run("plan", "create", "cli-test", "--name", "Again"), "already exists");
    assertError(InProcessCli.run("plan", "create", "Bad!", "--name", "x"), "The plan id must");
    assertError(InProcessCli.run("plan", "create", "cli-nameless"), "'name' is required");
    assertError(InProcessCli.run("plan", "set", "cli-test", "--monthly-price-usd", "1.001"), "--monthly-price-usd must be whole cents");
    assertError(InProcessCli.run("plan", "set", "cli-test", "--included-credit-usd", "1e3"), "--included-credit-usd must be a USD");
    assertError(InProcessCli.run("plan", "set", "cli-test", "--rpm", "0"), "--rpm must be a whole number");
    assertError(InProcessCli.run("plan", "set", "cli-test", "--for-sale", "yes"), "--for-sale must be true or false");
    assertError(InProcessCli.run("plan", "set", "default", "--for-sale", "true", "--monthly-price-usd", "5"), "cannot be for sale");
    assertError(InProcessCli.run("plan", "set", "cli-test", "--color", "red"), "Unknown option --color");
    assertError(InProcessCli.run("plan", "set", "cli-ghost", "--rpm", "3"), "No plan 'cli-ghost'");
    assertError(InProcessCli.run("plan", "set", "cli-test"), "Nothing to change");
    assertError(InProcessCli.run("plan", "drop", "cli-test"), "Unknown plan action");
  }

  private static void assertError(Result r, String fragment) {
    assertEquals(1, r.code(), r.out());
    assertTrue(r.err().contains(fragment), r.err());
  }
}
