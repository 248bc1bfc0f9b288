package ai.gpt.api.billing.stripe;

import static ai.gpt.api.billing.stripe.StripeBillingTest.event;
import static ai.gpt.api.billing.stripe.StripeBillingTest.now;
import static ai.gpt.api.billing.stripe.StripeBillingTest.session;
import static ai.gpt.api.billing.stripe.StripeBillingTest.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.db.Database;
import ai.gpt.api.limits.RedisKeys;
import ai.gpt.api.testing.ChildJvm;
import ai.gpt.api.testing.GatewayProcess;
import ai.gpt.api.testing.TcpProxy;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A gateway process killed (SIGKILL) after it committed a paid checkout's credit but before it answered Stripe:
 * Stripe redelivers to the restarted gateway and nothing more is credited. The kill lands in that window
 * deterministically, without hooks in production code: the gateway reaches Redis through a proxy that stalls as
 * soon as the gateway sends the EVALSHA of {@code debit_end_v1.lua}, the step after the ledger commit that adds the
 * credit to the hot balance, so the request hangs exactly there.
 */
@ExtendWith(VertxExtension.class)
class WebhookCrashTest {
  private static final Path LOG = Path.of("target", "webhook-crash-test", "gateway.log");

  private Pool pool;
  private Redis redis;
  private TcpProxy redisProxy;
  private WebClient client;
  private GatewayProcess gateway;

  @BeforeEach
  void start(Vertx vertx) {
    TestServices.ensureDatabase();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 2);
    pool.query("TRUNCATE backends, api_keys, organizations, users, credit_ledger, usage, usage_requests, usage_rejects RESTART"
        + " IDENTITY CASCADE").execute().await();
    TestServices.flushRedis(vertx);
    redis = Redis.createClient(vertx, TestServices.REDIS_URL);
    URI rd = URI.create(TestServices.REDIS_URL);
    redisProxy = TcpProxy.start(vertx, rd.getHost(), rd.getPort()).await();
    client = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    client.close();
    redisProxy.close().await();
    redis.close();
    pool.close().await();
  }

  @Test
  @DisplayName("SIGKILL after the credit's commit, before the 200: the redelivery (and another event of the session)"
      + " to the restarted gateway credits nothing more, in the ledger or the hot balance")
  void killedBeforeAnswering(Vertx vertx) throws Exception {
    long org = pool.query("INSERT INTO organizations (name) VALUES ('crash') RETURNING id").execute().await()
        .iterator().next().getLong(0);
    Map<String, String> env = GatewayProcess.environment("webhook-crash");
    env.putAll(DisputesTest.STRIPE_ENV);
    URI rd = URI.create(TestServices.REDIS_URL);
    env.put("REDIS_URL", rd.getScheme() + "://127.0.0.1:" + redisProxy.port() + rd.getRawPath());
    gateway = GatewayProcess.start(vertx, env, LOG);
    setHotBalance(org, 0); // loaded before the payment

    Future<Void> stalled = redisProxy.stallOn(sha1Hex(CreditDebits.END_SCRIPT));
    String paid = event("evt_crash", "checkout.session.completed", session("cs_crash", org, 2500, "paid"));
    Future<HttpResponse<Buffer>> answer = send(gateway, paid);
    stalled.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertEquals(25_000_000L, ledgerBalance(org), "committed before the hot-balance step");
    assertEquals("0", hotBalance(org), "the credit has not reached the hot balance");
    assertFalse(answer.isComplete(), "Stripe has had no answer");

    assertEquals(ChildJvm.KILLED_BY_SIGKILL, gateway.kill());
    assertTrue(answer.toCompletionStage().toCompletableFuture().handle((r, err) -> err != null)
        .get(10, TimeUnit.SECONDS), "the delivery failed, so Stripe will redeliver it");
    redisProxy.restore();

    gateway = GatewayProcess.start(vertx, env, LOG);
    assertNull(hotBalance(org), "a starting gateway drops the hot balances: the stale 0 is gone");
    setHotBalance(org, 25_000_000L); // reloaded from the ledger by a request meanwhile
    HttpResponse<Buffer> again = send(gateway, paid).await();
    assertEquals(200, again.statusCode(), again.bodyAsString());
    assertEquals("duplicate", again.bodyAsJsonObject().getString("outcome"));
    HttpResponse<Buffer> other = send(gateway, event("evt_crash_async", "checkout.session.async_payment_succeeded",
        session("cs_crash", org, 2500, "paid"))).await();
    assertEquals("duplicate_payment", other.bodyAsJsonObject().getString("outcome"));
    assertEquals(25_000_000L, ledgerBalance(org));
    assertEquals(1L, pool.preparedQuery("SELECT count(*) FROM credit_ledger WHERE org_id = $1")
        .execute(Tuple.of(org)).await().iterator().next().getLong(0));
    assertEquals("25000000", hotBalance(org), "nothing more in the hot balance");
  }

  private Future<HttpResponse<Buffer>> send(GatewayProcess gw, String event) {
    return client.post(gw.port(), "127.0.0.1", StripeBillingTest.WEBHOOK).putHeader("Stripe-Signature",
        sign(event, now())).putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(event));
  }

  /** The SHA-1 Redis names a script by, as the gateway sends it in EVALSHA. */
  private static String sha1Hex(String resource) throws Exception {
    try (InputStream in = WebhookCrashTest.class.getClassLoader().getResourceAsStream(resource)) {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(in.readAllBytes()));
    }
  }

  private long ledgerBalance(long org) {
    return pool.preparedQuery("SELECT COALESCE(SUM(amount_micros), 0)::bigint FROM credit_ledger WHERE org_id = $1")
        .execute(Tuple.of(org)).await().iterator().next().getLong(0);
  }

  private void setHotBalance(long org, long micros) {
    redis.send(Request.cmd(Command.SET).arg(RedisKeys.balance(org)).arg(micros)).await();
  }

  private String hotBalance(long org) {
    Response r = redis.send(Request.cmd(Command.GET).arg(RedisKeys.balance(org))).await();
    return r == null ? null : r.toString();
  }
}
