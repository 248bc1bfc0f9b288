package ai.gpt.api.billing;

import static ai.gpt.api.apikeys.ApiUsers.code;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.apikeys.ApiUsers;
import ai.gpt.api.apikeys.ApiUsers.User;
import ai.gpt.api.limits.LimiterSettings;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.FakeLlamaServer;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.Sleep;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Debits that are not settlements (transfers, admin deductions) against credit held by requests in flight, through
 * real HTTP, Redis and PostgreSQL: the scenario of an org with $0.02 and four gpt-full streams open.
 */
@ExtendWith(VertxExtension.class)
class CreditDebitsTest {
  /** gpt-full (sql/V001__core.sql): $0.50 / $1.00 per 1M tokens, i.e. 1 micro-USD per output token. */
  private static final int MAX_TOKENS = 4_000;
  private static final long FUNDS = 20_000; // $0.02

  private ApiUsers users;
  private GatewayHarness gw;
  private FakeLlamaServer fake;
  private Redis redis;
  private WebClient parallel;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    users = ApiUsers.start(vertx);
    gw = users.gw;
    fake = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().slots(16).tokenDelayMs(50)).await();
    gw.addBackend("gpt-full", fake);
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    parallel = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(gw.port()), new PoolOptions().setHttp1MaxSize(64));
  }

  @AfterEach
  void stop() {
    parallel.close();
    redis.close();
    users.close();
    fake.close().await();
  }

  @Test
  @DisplayName("a transfer counts credit held by streams in flight: the full balance is 402, the available part "
      + "moves, and after the streams settle the balance is >= -(one request's maximum cost)")
  void transferCountsHolds() {
    User ada = users.signUp("ada@example.com");
    long to = users.createOrgOwnedBy(ada, "ada-team");
    checkDebitsAgainstStreams(ada, usd -> users.call("POST", "/api/orgs/" + ada.orgId() + "/credits/transfer",
        ada.token(), new JsonObject().put("to_org_id", to).put("usd", usd).put("reason", "budget")));
  }

  @Test
  @DisplayName("an admin deduction counts credit held by streams in flight the same way")
  void adminDeductionCountsHolds() {
    User ada = users.signUp("ada@example.com");
    User root = users.signUp("root@example.com");
    gw.pool().preparedQuery("UPDATE users SET is_admin = true WHERE id = $1").execute(Tuple.of(root.id())).await();
    checkDebitsAgainstStreams(ada, usd -> users.call("POST", "/api/admin/orgs/" + ada.orgId() + "/credits",
        root.token(), new JsonObject().put("usd", "-" + usd).put("reason", "correction")));
  }

  private void checkDebitsAgainstStreams(User ada, Function<String, HttpResponse<Buffer>> debit) {
    long org = ada.orgId();
    gw.credit(org, FUNDS);
    String key = gw.createKey(org, null);
    List<Future<HttpResponse<Buffer>>> streams = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      streams.add(parallel.post("/v1/chat/completions").bearerTokenAuthentication(key)
          .sendJsonObject(chat("stream " + i, true)));
    }
    GatewayHarness.awaitTrue("four streams in flight", () -> fake.inFlight() == 4);
    long held = heldTotal(org);
    long maxCost = held / 4;
    assertTrue(held > 16_000 && held < FUNDS, "four holds of about $0.004: " + held);

    HttpResponse<Buffer> all = debit.apply("0.02");
    assertEquals(402, all.statusCode(), all.bodyAsString());
    assertEquals("insufficient_quota", code(all));
    assertEquals(FUNDS, gw.ledgerBalance(org), "nothing was debited");
    assertEquals(held, heldTotal(org), "the refused debit holds nothing");

    long available = FUNDS - held;
    HttpResponse<Buffer> part = debit.apply(Money.toUsd(available).toPlainString());
    assertEquals(201, part.statusCode(), part.bodyAsString());
    assertEquals(FUNDS - available, gw.ledgerBalance(org));
    assertEquals(held, heldTotal(org), "the debit's own hold is gone");

    fake.setTokenDelayMs(0);
    Future.join(new ArrayList<>(streams)).await();
    streams.forEach(s -> assertEquals(200, s.result().statusCode()));
    GatewayHarness.awaitTrue("four usage rows", () -> gw.usageRows(org) == 4);
    long balance = gw.ledgerBalance(org);
    assertTrue(balance >= -maxCost, "balance " + balance + " >= -" + maxCost);
    assertEquals(0, heldTotal(org));
  }

  @Test
  @DisplayName("an expired debit hold (its gateway died mid-debit) makes admission reload the balance from the ledger")
  void expiredDebitHoldDropsTheHotBalance() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    gw.credit(org, FUNDS);
    String key = gw.createKey(org, null);
    HttpResponse<Buffer> first = gw.post("/v1/chat/completions", key, chat("warm up", false).put("max_tokens", 1));
    assertEquals(200, first.statusCode(), first.bodyAsString());
    GatewayHarness.awaitTrue("usage written", () -> gw.usageRows(org) == 1);
    long hot = hotBalance(org);
    // A debit whose transaction committed, but whose gateway died before ending its hold, 60 s ago.
    gw.pool().preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key)"
        + " VALUES ($1, $2, 'adjustment', 'crashed', 'crashed-debit')").execute(Tuple.of(org, -hot)).await();
    redis.send(Request.cmd(Command.HSET).arg(RedisKeys.holds(org)).arg("debit:crashed-debit").arg(hot)).await();
    redis.send(Request.cmd(Command.HINCRBY).arg(RedisKeys.holds(org)).arg("_total").arg(hot)).await();
    redis.send(Request.cmd(Command.ZADD).arg(RedisKeys.holdExpiries(org)).arg(1).arg("debit:crashed-debit"))
        .await();
    Sleep.ms(1_100); // admissions look for expired holds at most once a second (admit_v6.lua)

    HttpResponse<Buffer> after = gw.post("/v1/chat/completions", key, chat("after the crash", false));
    assertEquals(402, after.statusCode(), "the ledger says nothing is left: " + after.bodyAsString());
    assertEquals(0, heldTotal(org), "the expired hold is swept");
    assertEquals(0L, hotBalance(org), "reloaded from the ledger");
  }

  @Test
  @DisplayName("transfers racing requests never take a balance below -(one request's maximum cost)")
  void concurrentTransfersAndRequests() {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    long to = users.createOrgOwnedBy(ada, "ada-team");
    long funds = 60_000;
    gw.credit(org, funds);
    String key = gw.createKey(org, null);
    fake.setTokenDelayMs(0);
    List<Future<HttpResponse<Buffer>>> requests = new ArrayList<>();
    List<Future<HttpResponse<Buffer>>> transfers = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      requests.add(parallel.post("/v1/chat/completions").bearerTokenAuthentication(key)
          .sendJsonObject(chat("race " + i, false)));
      transfers.add(parallel.post("/api/orgs/" + org + "/credits/transfer").bearerTokenAuthentication(ada.token())
          .sendJsonObject(new JsonObject().put("to_org_id", to).put("usd", "0.005").put("reason", "race " + i)));
    }
    Future.join(new ArrayList<>(requests)).await();
    Future.join(new ArrayList<>(transfers)).await();
    long served = requests.stream().filter(r -> r.result().statusCode() == 200).count();
    long moved = transfers.stream().filter(r -> r.result().statusCode() == 201).count();
    requests.forEach(r -> assertTrue(List.of(200, 402).contains(r.result().statusCode()), r.result().bodyAsString()));
    transfers.forEach(r -> assertTrue(List.of(201, 402).contains(r.result().statusCode()), r.result().bodyAsString()));
    GatewayHarness.awaitTrue("usage written", () -> gw.usageRows(org) == served);
    long balance = gw.ledgerBalance(org);
    assertTrue(balance >= -(MAX_TOKENS + 100), "balance " + balance + " (" + served + " requests, " + moved
        + " transfers)");
    assertEquals(moved * 5_000, gw.ledgerBalance(to));
    assertEquals(0, heldTotal(org), "every hold released");
  }

  @Test
  @DisplayName("a retried transfer whose earlier attempt still holds (its answer lost, its release pending) waits"
      + " for that hold to go and then transfers; one whose earlier attempt's replica died goes on under its hold"
      + " after 5 s; a hold of another amount under the same key is 409")
  void retryWaitsForAnEarlierAttemptsHold(Vertx vertx) {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    long to = users.createOrgOwnedBy(ada, "ada-team");
    gw.credit(org, FUNDS);
    // What an attempt leaves when Redis ran its hold but the answer was lost: the gateway retries the release
    // every second, so a client's retry can arrive before it.
    String lost = "debit:api-transfer:" + org + ":retry-1";
    placeHold(org, lost, 5_000);
    vertx.setTimer(600, t -> releaseHold(org, lost, 5_000));
    long start = System.currentTimeMillis();
    HttpResponse<Buffer> retry = transfer(ada, to, "retry-1");
    assertEquals(201, retry.statusCode(), retry.bodyAsString());
    assertTrue(System.currentTimeMillis() - start >= 500, "it waited for the earlier attempt's hold");
    assertEquals(5_000, gw.ledgerBalance(to));
    assertEquals(0, heldTotal(org), "every hold released");

    // A replica that died mid-debit: its hold stays for a minute, and its transfer never reached the ledger.
    placeHold(org, "debit:api-transfer:" + org + ":retry-2", 5_000);
    start = System.currentTimeMillis();
    HttpResponse<Buffer> orphan = transfer(ada, to, "retry-2");
    assertEquals(201, orphan.statusCode(), orphan.bodyAsString());
    assertTrue(System.currentTimeMillis() - start >= 4_900, "it waited 5 s for the hold first");
    assertEquals(10_000, gw.ledgerBalance(to), "transferred once");
    assertEquals(FUNDS - 10_000, gw.ledgerBalance(org));
    assertEquals(0, heldTotal(org), "the orphaned hold is released with it");
    assertNull(hotBalance(org), "the hot balance is dropped, to be reloaded from the ledger");
    HttpResponse<Buffer> again = transfer(ada, to, "retry-2");
    assertEquals(200, again.statusCode(), "a later retry is a replay: " + again.bodyAsString());
    assertEquals(10_000, gw.ledgerBalance(to));

    // The same key still holding another amount: another debit, not this one.
    placeHold(org, "debit:api-transfer:" + org + ":retry-3", 7_000);
    HttpResponse<Buffer> other = transfer(ada, to, "retry-3");
    assertEquals(409, other.statusCode(), other.bodyAsString());
    assertEquals("idempotency_key_in_use", code(other));
    assertEquals(10_000, gw.ledgerBalance(to), "nothing moved");
  }

  @Test
  @DisplayName("a debit whose write fails releases the hold it placed, but not one it took over from an earlier"
      + " attempt (whose own debit may still commit)")
  void failedWriteReleasesOnlyItsOwnHold(Vertx vertx) {
    User ada = users.signUp("ada@example.com");
    long org = ada.orgId();
    gw.credit(org, FUNDS);
    CreditDebits debits = CreditDebits.create(vertx, redis, o -> Future.succeededFuture(FUNDS),
        LimiterSettings.defaults()).await();
    String orphan = "api-transfer:" + org + ":orphan";
    placeHold(org, "debit:" + orphan, 5_000);
    Future<Object> takenOver = debits.debit(org, 5_000, orphan, () -> Future.failedFuture("PostgreSQL cut"), r -> true);
    takenOver.otherwiseEmpty().await();
    assertTrue(takenOver.failed());
    assertEquals(5_000, heldTotal(org), "the hold taken over stays, for its owner's end or its expiry");

    Future<Object> own = debits.debit(org, 3_000, "api-transfer:" + org + ":own", () -> Future.failedFuture("cut"),
        r -> true);
    own.otherwiseEmpty().await();
    assertTrue(own.failed());
    assertEquals(5_000, heldTotal(org), "the hold it placed itself is released");
  }

  private HttpResponse<Buffer> transfer(User from, long to, String idempotencyKey) {
    return parallel.post("/api/orgs/" + from.orgId() + "/credits/transfer").bearerTokenAuthentication(from.token())
        .putHeader("Idempotency-Key", idempotencyKey)
        .sendJsonObject(new JsonObject().put("to_org_id", to).put("usd", "0.005").put("reason", "retried")).await();
  }

  private void placeHold(long org, String id, long micros) {
    redis.send(Request.cmd(Command.HSET).arg(RedisKeys.holds(org)).arg(id).arg(micros)).await();
    redis.send(Request.cmd(Command.HINCRBY).arg(RedisKeys.holds(org)).arg("_total").arg(micros)).await();
    redis.send(Request.cmd(Command.ZADD).arg(RedisKeys.holdExpiries(org)).arg(System.currentTimeMillis() + 60_000)
        .arg(id)).await();
  }

  private void releaseHold(long org, String id, long micros) {
    redis.send(Request.cmd(Command.HDEL).arg(RedisKeys.holds(org)).arg(id))
        .compose(v -> redis.send(Request.cmd(Command.HINCRBY).arg(RedisKeys.holds(org)).arg("_total").arg(-micros)))
        .compose(v -> redis.send(Request.cmd(Command.ZREM).arg(RedisKeys.holdExpiries(org)).arg(id)));
  }

  private static JsonObject chat(String content, boolean stream) {
    return new JsonObject().put("model", "gpt-full").put("stream", stream).put("max_tokens", MAX_TOKENS)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", content)));
  }

  private long heldTotal(long org) {
    Response v = redis.send(Request.cmd(Command.HGET).arg(RedisKeys.holds(org)).arg("_total")).await();
    return v == null ? 0 : v.toLong();
  }

  private Long hotBalance(long org) {
    Response v = redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(org))).await();
    return v == null ? null : v.toLong();
  }
}
