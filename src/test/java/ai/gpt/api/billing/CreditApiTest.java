package ai.gpt.api.billing;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static ai.gpt.api.apikeys.ApiUsers.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Balance, ledger history and transfers through real HTTP, PostgreSQL and Redis. */
@ExtendWith(VertxExtension.class)
class CreditApiTest {
  private ApiUsers users;
  private Redis redis;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    users = ApiUsers.start(vertx);
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
  }

  @AfterEach
  void stop() {
    redis.close();
    users.close();
  }

  @Test
  @DisplayName("balance in micro-USD and as text; ledger history newest first, paged by entry id")
  void balanceAndLedger() {
    User ada = users.signUp("ada@example.com");
    for (int i = 1; i <= 5; i++) {
      users.gw.credit(ada.orgId(), i * 1_000_000L);
    }
    users.gw.pool().preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, idempotency_key, "
        + "request_id) VALUES ($1, -250, 'debit', 'usage:r1', 'r1')").execute(Tuple.of(ada.orgId())).await();
    String base = "/api/orgs/" + ada.orgId() + "/credits";
    JsonObject balance = users.call("GET", base, ada.token(), null).bodyAsJsonObject();
    assertEquals(14_999_750L, balance.getLong("balance_micros"));
    assertEquals("14.999750", balance.getString("balance_usd"));

    List<Long> seen = new ArrayList<>();
    String next = base + "/ledger?limit=2";
    int pages = 0;
    while (next != null) {
      HttpResponse<Buffer> page = users.call("GET", next, ada.token(), null);
      assertEquals(200, page.statusCode(), page.bodyAsString());
      JsonObject json = page.bodyAsJsonObject();
      JsonArray data = json.getJsonArray("data");
      assertTrue(data.size() <= 2);
      data.forEach(o -> seen.add(((JsonObject) o).getLong("id")));
      pages++;
      next = json.getBoolean("has_more") ? base + "/ledger?limit=2&before=" + json.getLong("next_before") : null;
    }
    assertEquals(3, pages);
    assertEquals(List.of(6L, 5L, 4L, 3L, 2L, 1L), seen, "newest first, each entry once");
    JsonObject newest = users.call("GET", base + "/ledger", ada.token(), null).bodyAsJsonObject()
        .getJsonArray("data").getJsonObject(0);
    assertEquals("debit", newest.getString("kind"));
    assertEquals(-250L, newest.getLong("amount_micros"));
    assertEquals("-0.000250", newest.getString("amount_usd"));
    assertEquals("r1", newest.getString("request_id"));

    for (String bad : List.of("limit=0", "limit=201", "limit=x", "before=-1", "before=999")) {
      HttpResponse<Buffer> resp = users.call("GET", base + "/ledger?" + bad, ada.token(), null);
      assertEquals(400, resp.statusCode(), bad);
      assertEquals(bad.substring(0, bad.indexOf('=')), param(resp));
    }
  }

  @Test
  @DisplayName("transfer between two organizations of a user: both ledgers, hot balances adjusted, idempotent; "
      + "beyond the balance: 402 and nothing changes")
  void transfer() {
    User ada = users.signUp("ada@example.com");
    long from = ada.orgId();
    long to = users.createOrgOwnedBy(ada, "ada-team");
    users.gw.credit(from, 10_000_000);
    setHotBalance(from, 10_000_000);
    setHotBalance(to, 0);
    String path = "/api/orgs/" + from + "/credits/transfer";

    HttpResponse<Buffer> done = users.gw.client().post(path).bearerTokenAuthentication(ada.token())
        .putHeader("Idempotency-Key", "t-1")
        .sendJsonObject(new JsonObject().put("to_org_id", to).put("usd", "1.50").put("reason", "team budget"))
        .await();
    assertEquals(201, done.statusCode(), done.bodyAsString());
    assertEquals(8_500_000L, done.bodyAsJsonObject().getLong("balance_micros"));
    assertEquals("1.500000", done.bodyAsJsonObject().getString("amount_usd"));
    assertEquals(8_500_000L, users.gw.ledgerBalance(from));
    assertEquals(1_500_000L, users.gw.ledgerBalance(to));
    assertEquals("8500000", hotBalance(from), "both hot balances follow the ledger");
    assertEquals("1500000", hotBalance(to));
    JsonObject outRow = ledger(ada, from).getJsonObject(0);
    JsonObject inRow = ledger(ada, to).getJsonObject(0);
    assertEquals("transfer", outRow.getString("kind"));
    assertEquals(-1_500_000L, outRow.getLong("amount_micros"));
    assertEquals(1_500_000L, inRow.getLong("amount_micros"));
    assertEquals("team budget", inRow.getString("reason"));

    // The same Idempotency-Key again: the transfer already made, nothing moves twice.
    HttpResponse<Buffer> replay = users.gw.client().post(path).bearerTokenAuthentication(ada.token())
        .putHeader("Idempotency-Key", "t-1")
        .sendJsonObject(new JsonObject().put("to_org_id", to).put("usd", "1.50").put("reason", "team budget"))
        .await();
    assertEquals(200, replay.statusCode(), replay.bodyAsString());
    assertTrue(replay.bodyAsJsonObject().getBoolean("replayed"));
    assertEquals(8_500_000L, users.gw.ledgerBalance(from));
    HttpResponse<Buffer> reused = users.gw.client().post(path).bearerTokenAuthentication(ada.token())
        .putHeader("Idempotency-Key", "t-1")
        .sendJsonObject(new JsonObject().put("to_org_id", to).put("usd", "2").put("reason", "other")).await();
    assertEquals(409, reused.statusCode());
    assertEquals("idempotency_key_reused", code(reused));

    long rows = ledgerRows();
    HttpResponse<Buffer> tooMuch = users.call("POST", path, ada.token(),
        new JsonObject().put("to_org_id", to).put("usd", "8.500001").put("reason", "all of it and more"));
    assertEquals(402, tooMuch.statusCode(), tooMuch.bodyAsString());
    assertEquals("insufficient_quota", code(tooMuch));
    assertEquals(rows, ledgerRows(), "nothing written");
    assertEquals(8_500_000L, users.gw.ledgerBalance(from));
    assertEquals(1_500_000L, users.gw.ledgerBalance(to));

    assertEquals(201, users.call("POST", path, ada.token(),
        new JsonObject().put("to_org_id", to).put("usd", "8.5").put("reason", "exactly all")).statusCode());
    assertEquals(0L, users.gw.ledgerBalance(from));

    HttpResponse<Buffer> unknown = users.call("POST", "/api/orgs/" + to + "/credits/transfer", ada.token(),
        new JsonObject().put("to_org_id", 999_999).put("usd", "1").put("reason", "x"));
    assertEquals(404, unknown.statusCode());
    assertEquals("to_org_id", param(unknown));
    for (JsonObject bad : List.of(new JsonObject().put("usd", "1").put("reason", "x"),
        new JsonObject().put("to_org_id", to).put("usd", "-1").put("reason", "x"),
        new JsonObject().put("to_org_id", to).put("usd", "0.0000001").put("reason", "x"),
        new JsonObject().put("to_org_id", to).put("usd", 1.5).put("reason", "x"),
        new JsonObject().put("to_org_id", to).put("usd", "1"),
        new JsonObject().put("to_org_id", to).put("usd", "1").put("reason", "self"))) {
      String sender = "self".equals(bad.getString("reason")) ? "/api/orgs/" + to : "/api/orgs/" + from;
      HttpResponse<Buffer> resp = users.call("POST", sender + "/credits/transfer", ada.token(), bad);
      assertEquals(400, resp.statusCode(), bad.encode() + " " + resp.bodyAsString());
    }
  }

  @Test
  @DisplayName("concurrent transfers can never overdraw the sender: of 40 for $0.50 from $10, exactly 20 succeed")
  void concurrentTransfers(Vertx vertx) {
    User ada = users.signUp("ada@example.com");
    long to = users.createOrgOwnedBy(ada, "ada-team");
    users.gw.credit(ada.orgId(), 10_000_000);
    WebClient parallel = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(users.gw.port()), new PoolOptions().setHttp1MaxSize(40));
    List<Future<HttpResponse<Buffer>>> sent = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      sent.add(parallel.post("/api/orgs/" + ada.orgId() + "/credits/transfer")
          .bearerTokenAuthentication(ada.token())
          .sendJsonObject(new JsonObject().put("to_org_id", to).put("usd", "0.50").put("reason", "race " + i)));
    }
    Future.join(new ArrayList<>(sent)).await();
    parallel.close();
    assertEquals(20, sent.stream().filter(f -> f.result().statusCode() == 201).count());
    assertEquals(20, sent.stream().filter(f -> f.result().statusCode() == 402).count());
    assertEquals(0L, users.gw.ledgerBalance(ada.orgId()));
    assertEquals(10_000_000L, users.gw.ledgerBalance(to));
  }

  @Test
  @DisplayName("only an owner or admin of the sender transfers; a member sees the balance but gets 403")
  void roles() {
    User owner = users.signUp("owner@example.com");
    User member = users.signUp("member@example.com");
    users.addMember(owner.orgId(), member, "member");
    users.gw.credit(owner.orgId(), 5_000_000);
    assertEquals(200, users.call("GET", "/api/orgs/" + owner.orgId() + "/credits", member.token(), null)
        .statusCode());
    HttpResponse<Buffer> denied = users.call("POST", "/api/orgs/" + owner.orgId() + "/credits/transfer",
        member.token(), new JsonObject().put("to_org_id", member.orgId()).put("usd", "1").put("reason", "mine"));
    assertEquals(403, denied.statusCode());
    assertEquals(5_000_000L, users.gw.ledgerBalance(owner.orgId()));
    assertEquals(0L, users.gw.ledgerBalance(member.orgId()));
  }

  @Test
  @DisplayName("tenant isolation: every credit route with another organization's id is 404, and it is unchanged")
  void tenantIsolation() {
    User a = users.signUp("a@example.com");
    User b = users.signUp("b@example.com");
    users.gw.credit(a.orgId(), 5_000_000);
    users.gw.credit(b.orgId(), 7_000_000);
    String bBase = "/api/orgs/" + b.orgId() + "/credits";
    long bLedgerId = ledger(b, b.orgId()).getJsonObject(0).getLong("id");
    long rows = ledgerRows();

    assertNotFound(users.call("GET", bBase, a.token(), null));
    assertNotFound(users.call("GET", bBase + "/ledger", a.token(), null));
    assertNotFound(users.call("POST", bBase + "/transfer", a.token(),
        new JsonObject().put("to_org_id", a.orgId()).put("usd", "1").put("reason", "steal")));
    assertNotFound(users.call("POST", bBase + "/transfer", a.token(), new JsonObject()));
    // B's ledger entry id as a cursor in A's ledger: refused, not B's rows.
    HttpResponse<Buffer> cursor = users.call("GET", "/api/orgs/" + a.orgId() + "/credits/ledger?before=" + bLedgerId,
        a.token(), null);
    assertEquals(400, cursor.statusCode());
    assertFalse(cursor.bodyAsString().contains("7.00"));

    assertEquals(rows, ledgerRows());
    assertEquals(7_000_000L, users.gw.ledgerBalance(b.orgId()));
    assertEquals(5_000_000L, users.gw.ledgerBalance(a.orgId()));

    // Giving is allowed by id (the "another organization, by its id"); it reveals nothing of B.
    HttpResponse<Buffer> gift = users.call("POST", "/api/orgs/" + a.orgId() + "/credits/transfer", a.token(),
        new JsonObject().put("to_org_id", b.orgId()).put("usd", "1").put("reason", "gift"));
    assertEquals(201, gift.statusCode(), gift.bodyAsString());
    assertFalse(gift.bodyAsString().contains("7.00") || gift.bodyAsString().contains("8.00"), "B's balance stays B's");
    assertEquals(8_000_000L, users.gw.ledgerBalance(b.orgId()));
    assertEquals(4_000_000L, users.gw.ledgerBalance(a.orgId()));
  }

  private void assertNotFound(HttpResponse<Buffer> resp) {
    assertEquals(404, resp.statusCode(), resp.bodyAsString());
    assertEquals("not_found", code(resp));
  }

  private JsonArray ledger(User user, long orgId) {
    HttpResponse<Buffer> resp = users.call("GET", "/api/orgs/" + orgId + "/credits/ledger", user.token(), null);
    assertEquals(200, resp.statusCode(), resp.bodyAsString());
    return resp.bodyAsJsonObject().getJsonArray("data");
  }

  private long ledgerRows() {
    return users.gw.pool().query("SELECT count(*) FROM credit_ledger").execute().await().iterator().next().getLong(0);
  }

  private void setHotBalance(long orgId, long micros) {
    redis.send(Request.cmd(Command.SET).arg(RedisKeys.balance(orgId)).arg(micros)).await();
  }

  private String hotBalance(long orgId) {
    var r = redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(orgId))).await();
    return r == null ? null : r.toString();
  }
}
