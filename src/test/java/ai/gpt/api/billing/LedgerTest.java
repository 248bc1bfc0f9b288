package ai.gpt.api.billing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.db.Database;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class LedgerTest {
  private Pool pool;
  private Ledger ledger;

  @BeforeEach
  void setUp(Vertx vertx) {
    TestServices.ensureDatabase();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, 4);
    ledger = new Ledger(pool);
  }

  @AfterEach
  void tearDown() {
    pool.close().await();
  }

  private String newOrgName() {
    return "ledger-" + UUID.randomUUID();
  }

  private long createOrg(String name) {
    return pool.preparedQuery("INSERT INTO organizations (name) VALUES ($1) RETURNING id").execute(Tuple.of(name))
        .await().iterator().next().getLong("id");
  }

  private static LedgerException ledgerError(Future<?> f) {
    Throwable t = assertThrows(Throwable.class, f::await);
    assertTrue(t instanceof LedgerException, "expected a LedgerException, got " + t);
    return (LedgerException) t;
  }

  @Test
  @DisplayName("a credit raises the balance exactly once per idempotency key")
  void creditIsIdempotent() {
    long org = createOrg(newOrgName());
    assertEquals(0, ledger.balance(org).await());
    CreditResult first = ledger.credit(org, 10_000_000, "prepaid", "k-" + org).await();
    assertTrue(first.applied());
    assertEquals(10_000_000, first.balanceMicros());
    assertEquals("credit", first.entry().kind());
    assertEquals(10_000_000, first.entry().amountMicros());

    CreditResult again = ledger.credit(org, 10_000_000, "prepaid", "k-" + org).await();
    assertFalse(again.applied(), "the retry is recognised");
    assertEquals(first.entry().id(), again.entry().id());
    assertEquals(10_000_000, again.balanceMicros());
    assertEquals(10_000_000, ledger.balance(org).await());
    assertEquals(1, ledger.history(org, 10).await().size());
  }

  @Test
  @DisplayName("concurrent retries of the same credit apply it once")
  void concurrentRetries() {
    long org = createOrg(newOrgName());
    List<Future<CreditResult>> tries = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      tries.add(ledger.credit(org, 1_234_567, "race", "race-" + org));
    }
    Future.join(tries).await();
    assertEquals(1, tries.stream().filter(f -> f.result().applied()).count());
    assertEquals(1_234_567, ledger.balance(org).await());
  }

  @Test
  @DisplayName("reusing an idempotency key for a different amount or organization is refused")
  void keyReuseIsRefused() {
    long a = createOrg(newOrgName());
    long b = createOrg(newOrgName());
    ledger.credit(a, 5_000_000, "x", "reuse-" + a).await();
    assertTrue(ledgerError(ledger.credit(a, 6_000_000, "x", "reuse-" + a)).getMessage().contains("already used"));
    assertTrue(ledgerError(ledger.credit(b, 5_000_000, "x", "reuse-" + a)).getMessage().contains("already used"));
    assertEquals(0, ledger.balance(b).await());
    assertEquals(5_000_000, ledger.balance(a).await());
  }

  @Test
  @DisplayName("bad amounts, unknown organizations and reserved keys are refused with a clear message")
  void refusals() {
    long org = createOrg(newOrgName());
    ledgerError(ledger.credit(org, 0, "x", "zero-" + org));
    ledgerError(ledger.credit(org, -5, "x", "neg-" + org));
    ledgerError(ledger.credit(org, 5, "x", ""));
    ledgerError(ledger.credit(org, 5, "x", "usage:req-1"));
    assertTrue(ledgerError(ledger.credit(987_654_321L, 5, "x", "ghost-" + org)).getMessage().contains("organization"));
    assertTrue(ledgerError(ledger.creditUsd("no-such-org-" + org, "5", "x", null)).getMessage().contains("No organization"));
    assertTrue(ledgerError(ledger.creditUsd(String.valueOf(org), "0.0000001", "x", null)).getMessage().contains("6 decimals"));
    assertEquals(0, ledger.balance(org).await());
  }

  @Test
  @DisplayName("the balance is the sum of credits, usage debits and adjustments; history is newest first")
  void balanceAndHistory() {
    long org = createOrg(newOrgName());
    ledger.credit(org, 10_000_000, "first", "h1-" + org).await();
    pool.preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key, request_id)"
        + " VALUES ($1, -1250, 'debit', 'usage gpt-fast', $2, $3)").execute(Tuple.of(org, "usage:r-" + org, "r-" + org))
        .await();
    pool.preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key)"
        + " VALUES ($1, -1, 'adjustment', 'rounding', $2)").execute(Tuple.of(org, "h2-" + org)).await();
    CreditResult last = ledger.credit(org, 500_000, "second", "h3-" + org).await();
    assertEquals(10_000_000 - 1_250 - 1 + 500_000, last.balanceMicros());
    assertEquals(10_498_749, ledger.balance(org).await());

    List<LedgerEntry> history = ledger.history(org, 3).await();
    assertEquals(List.of("second", "rounding", "usage gpt-fast"), history.stream().map(LedgerEntry::reason).toList());
    assertEquals("r-" + org, history.get(2).requestId());
    assertEquals(Map.of(org, 10_498_749L), ledger.balances(List.of(org, 987_654_321L)).await());
  }

  @Test
  @DisplayName("CLI helpers: credit USD by organization name, statement with balance and recent rows")
  void cliHelpers() {
    String name = newOrgName();
    long org = createOrg(name);
    CreditResult r = ledger.creditUsd(name, "12.345678", "top-up", null).await();
    assertEquals(12_345_678, r.entry().amountMicros());
    assertTrue(r.entry().idempotencyKey().startsWith("cli:"));
    ledger.creditUsd(String.valueOf(org), "0.25", "by id", "cli-fixed-" + org).await();
    ledger.creditUsd(String.valueOf(org), "0.25", "by id", "cli-fixed-" + org).await();
    AccountStatement s = ledger.statement(name, 10).await();
    assertEquals(org, s.orgId());
    assertEquals(name, s.orgName());
    assertEquals(12_595_678, s.balanceMicros());
    assertEquals(2, s.recent().size());
    assertEquals("$12.595678", Money.formatUsd(s.balanceMicros()));
  }

  @Test
  @DisplayName("USD text converts to micro-dollars exactly (the strict parser: see MoneyTest), and back")
  void money() {
    assertEquals(10_000_000, Money.parseUsd("10", false));
    assertEquals(250_000, Money.parseUsd("0.25", false));
    assertEquals(1, Money.parseUsd("0.000001", false));
    assertEquals(-3_500_000, Money.parseUsd("-3.5", true));
    assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("$1,000,000.000001", false));
    assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("1e2", false));
    assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("0.0000001", false));
    assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("ten", false));
    assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("", false));
    assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("99999999999999999", false));
    assertEquals("$10.00", Money.formatUsd(10_000_000));
    assertEquals("$0.00025", Money.formatUsd(250));
    assertEquals("-$1.234567", Money.formatUsd(-1_234_567));
    assertEquals("$0.00", Money.formatUsd(0));
    assertEquals("$1000.10", Money.formatUsd(1_000_100_000));
  }
}
