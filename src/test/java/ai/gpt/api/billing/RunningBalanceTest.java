package ai.gpt.api.billing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.db.Database;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The running balance (org_balances) stays exactly the ledger's sum whatever writes it, however concurrently. */
@ExtendWith(VertxExtension.class)
class RunningBalanceTest {
  private static final int WRITERS = 6;
  private static final int OPERATIONS = 250;

  private Pool pool;

  @AfterEach
  void stop() {
    pool.close().await();
  }

  private long createOrg() {
    return pool.preparedQuery("INSERT INTO organizations (name) VALUES ($1) RETURNING id")
        .execute(Tuple.of("running-" + UUID.randomUUID())).await().iterator().next().getLong(0);
  }

  @Test
  @DisplayName("credits, usage day debits (upserted), transfers, corrections and deletions from 6 connections at"
      + " once: every running balance equals the SUM of its ledger rows and the amounts written")
  void exactUnderConcurrentWriters(Vertx vertx) {
    TestServices.ensureDatabase();
    pool = Database.pool(vertx, TestServices.DATABASE_URL, WRITERS);
    List<Long> orgs = List.of(createOrg(), createOrg(), createOrg());
    Map<Long, Long> expected = new ConcurrentHashMap<>();
    orgs.forEach(o -> expected.put(o, 0L));
    String run = UUID.randomUUID().toString();

    List<Future<Void>> writers = new ArrayList<>();
    for (int w = 0; w < WRITERS; w++) {
      int writer = w;
      Future<Void> chain = Future.succeededFuture();
      for (int i = 0; i < OPERATIONS; i++) {
        int op = i;
        chain = chain.compose(v -> operation(orgs, expected, run + ":" + writer + ":" + op));
      }
      writers.add(chain);
    }
    Future.all(writers).await();

    for (long org : orgs) {
      long sum = pool.preparedQuery("SELECT COALESCE(SUM(amount_micros), 0) FROM credit_ledger WHERE org_id = $1")
          .execute(Tuple.of(org)).await().iterator().next().getLong(0);
      long running = new Ledger(pool).balance(org).await();
      assertEquals(expected.get(org), sum, "the ledger holds what was written");
      assertEquals(sum, running, "running balance of org " + org);
    }
  }

  /** One random write, as the gateway's writers make them. */
  private Future<Void> operation(List<Long> orgs, Map<Long, Long> expected, String key) {
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    long a = orgs.get(rnd.nextInt(orgs.size()));
    long b = orgs.get((orgs.indexOf(a) + 1 + rnd.nextInt(orgs.size() - 1)) % orgs.size());
    long micros = 1 + rnd.nextInt(10_000);
    return switch (rnd.nextInt(5)) {
      case 0 -> insert(pool, a, micros, "credit", key).map(v -> add(expected, a, micros));
      case 1 -> // the usage writer: one debit per organization and day, upserted by every batch
          pool.preparedQuery("INSERT INTO credit_ledger AS l (org_id, amount_micros, kind, reason, idempotency_key)"
              + " VALUES ($1, $2, 'debit', 'usage', $3) ON CONFLICT (idempotency_key)"
              + " DO UPDATE SET amount_micros = l.amount_micros + EXCLUDED.amount_micros")
              .execute(Tuple.of(a, -micros, "usage:day:" + a + ":2000-01-0" + (1 + rnd.nextInt(3))))
              .map(v -> add(expected, a, -micros));
      case 2 -> // a transfer: both balance rows locked in id order, then both rows, in one transaction
          pool.withTransaction(tx -> tx.preparedQuery("SELECT org_id FROM org_balances WHERE org_id = ANY($1)"
                  + " ORDER BY org_id FOR UPDATE").execute(Tuple.of(new Long[] {a, b}))
              .compose(v -> insert(tx, a, -micros, "transfer", key + ":from"))
              .compose(v -> insert(tx, b, micros, "transfer", key + ":to")))
              .map(v -> {
                add(expected, a, -micros);
                return add(expected, b, micros);
              });
      case 3 -> // a correction of an existing row's amount (not done by the gateway, but kept exact)
          insert(pool, a, micros, "adjustment", key)
              .compose(v -> pool.preparedQuery("UPDATE credit_ledger SET amount_micros = amount_micros * 2"
                  + " WHERE idempotency_key = $1").execute(Tuple.of(key)))
              .map(v -> add(expected, a, 2 * micros));
      default -> // a row written, then removed in another transaction
          insert(pool, a, micros, "credit", key)
              .compose(v -> pool.preparedQuery("DELETE FROM credit_ledger WHERE idempotency_key = $1")
                  .execute(Tuple.of(key)))
              .mapEmpty();
    };
  }

  private static Future<Void> insert(SqlClient client, long org, long micros, String kind,
      String key) {
    return client.preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, idempotency_key)"
        + " VALUES ($1, $2, $3, $4)").execute(Tuple.of(org, micros, kind, key)).mapEmpty();
  }

  private static Void add(Map<Long, Long> expected, long org, long micros) {
    expected.merge(org, micros, Long::sum);
    return null;
  }
}
