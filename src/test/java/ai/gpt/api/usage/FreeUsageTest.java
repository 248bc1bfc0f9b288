package ai.gpt.api.usage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.limits.SettledUsage;
import ai.gpt.api.testing.GatewayHarness;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A settlement for nothing writes a usage row, exactly once, and no ledger row. */
@ExtendWith(VertxExtension.class)
class FreeUsageTest {
  private GatewayHarness gw;

  @BeforeEach
  void start(Vertx vertx) {
    gw = GatewayHarness.start(vertx);
  }

  @AfterEach
  void stop() {
    gw.close();
  }

  @Test
  @DisplayName("a request answered 503 before any backend existed: one usage row, no '$0.00' debit")
  void noBackendNoLedgerRow() {
    long org = gw.createOrg("acme", 1_000_000);
    String key = gw.createKey(org, null);
    HttpResponse<Buffer> refused = gw.post("/v1/chat/completions", key, new JsonObject().put("model", "gpt-fast")
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))));
    assertEquals(503, refused.statusCode(), refused.bodyAsString());
    GatewayHarness.awaitTrue("the usage row", () -> gw.usageRows(org) == 1);
    assertEquals(1, count("SELECT count(*) FROM credit_ledger WHERE org_id = $1", org), "only the credit");
    assertEquals(1_000_000L, gw.ledgerBalance(org));
  }

  @Test
  @DisplayName("a free settlement written twice (directly while Redis was down, then from the stream) is one row")
  void freeUsageExactlyOnce() {
    long org = gw.createOrg("acme", 1_000_000);
    gw.createKey(org, null);
    long keyId = count("SELECT id FROM api_keys WHERE org_id = $1", org);
    DirectUsageWriter direct = new DirectUsageWriter(gw.pool());
    SettledUsage free = new SettledUsage("req-free-" + System.nanoTime(), org, keyId, "gpt-fast", 0,
        "/v1/chat/completions", 0, 0, 0, 0, 503, true, 5, -1);
    direct.write(free).await();
    direct.write(free).await();
    assertEquals(1, gw.usageRows(org));
    assertEquals(1, count("SELECT count(*) FROM credit_ledger WHERE org_id = $1", org));
  }

  private long count(String sql, long org) {
    return gw.pool().preparedQuery(sql).execute(Tuple.of(org)).await().iterator().next().getLong(0);
  }
}
