package ai.gpt.api.billing;

import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

/**
 * Credit transfers between organizations. The sender's available credit (balance − holds of requests in flight −
 * queued usage) is checked and held by {@link CreditDebits}, atomically with admissions; the two ledger rows
 * ({@code <key>:from}, {@code <key>:to}) are then written in one transaction. A replay with the same key returns
 * the transfer already made and holds nothing.
 */
public final class Transfers {
  /** The outcome: both ledger rows (debit first), whether this call made them, the sender's balance after. */
  public record Result(LedgerEntry out, LedgerEntry in, boolean applied, long senderBalanceMicros) {}

  private static final String LOCK_BALANCES =
      "SELECT org_id FROM org_balances WHERE org_id = ANY($1) ORDER BY org_id FOR UPDATE";

  private final Pool pool;
  private final CreditDebits debits;

  public Transfers(Pool pool, CreditDebits debits) {
    this.pool = pool;
    this.debits = debits;
  }

  /**
   * Moves {@code micros} from one organization to another. Fails with 402 insufficient_quota when the sender's
   * available credit does not cover it, 409 when the key was used for a different transfer.
   */
  public Future<Result> transfer(long fromOrgId, long toOrgId, long micros, String reason, String idempotencyKey) {
    String from = idempotencyKey + ":from";
    String to = idempotencyKey + ":to";
    return replay(pool, fromOrgId, toOrgId, micros, from, to).compose(prior -> prior != null
        ? Future.succeededFuture(prior)
        // The receiver's hot balance is adjusted once the sender's debit is done (both after the commit).
        : debits.credit(toOrgId, micros, () -> debits.debit(fromOrgId, micros, idempotencyKey,
            () -> pool.withTransaction(tx -> CreditDebits.boundTransaction(tx)
                .compose(v -> lockBalances(tx, fromOrgId, toOrgId))
                .compose(v -> insert(tx, fromOrgId, -micros, reason, from))
                .compose(out -> out == null
                    // A concurrent call with the same key committed first: answer its transfer.
                    ? replay(tx, fromOrgId, toOrgId, micros, from, to)
                    : insert(tx, toOrgId, micros, reason, to).compose(in -> balance(tx, fromOrgId)
                        .map(bal -> new Result(out, in, true, bal))))), Result::applied), Result::applied));
  }

  /** The transfer already made under these keys, null if none; 409 if the keys belong to another transfer. */
  private static Future<Result> replay(SqlClient client, long fromOrgId, long toOrgId, long micros, String from,
      String to) {
    return client.preparedQuery(LedgerSql.BY_KEY).execute(Tuple.of(from)).compose(existing -> {
      if (existing.size() == 0) {
        return Future.succeededFuture(null);
      }
      return client.preparedQuery(LedgerSql.BY_KEY).execute(Tuple.of(to)).compose(in -> {
        LedgerEntry a = entry(existing.iterator().next());
        LedgerEntry b = in.size() == 0 ? null : entry(in.iterator().next());
        if (b == null || a.orgId() != fromOrgId || b.orgId() != toOrgId || b.amountMicros() != micros) {
          return Future.failedFuture(ApiError.of(409, "idempotency_key_reused",
              "This Idempotency-Key was already used for a different transfer.", "Idempotency-Key"));
        }
        return balance(client, fromOrgId).map(bal -> new Result(a, b, false, bal));
      });
    });
  }

  private static Future<Long> balance(SqlClient client, long orgId) {
    return client.preparedQuery(LedgerSql.BALANCE).execute(Tuple.of(orgId))
        .map(rows -> rows.iterator().next().getLong("balance"));
  }

  /**
   * Each ledger row updates its organization's running balance (org_balances), locking it until the commit. Two
   * opposite transfers would lock the two rows in opposite orders and deadlock, so both are locked first, in id
   * order, the order every multi-organization writer (the usage writer too) takes them in.
   */
  private static Future<Void> lockBalances(SqlConnection tx, long a, long b) {
    return tx.preparedQuery(LOCK_BALANCES).execute(Tuple.of(new Long[] {a, b})).mapEmpty();
  }

  /** The inserted row, or null when the idempotency key exists already. */
  private static Future<LedgerEntry> insert(SqlConnection tx, long orgId, long micros, String reason, String key) {
    return tx.preparedQuery(LedgerSql.INSERT).execute(Tuple.of(orgId, micros, "transfer", reason, key))
        .map(rows -> rows.size() == 0 ? null : entry(rows.iterator().next()));
  }

  static LedgerEntry entry(Row row) {
    return new LedgerEntry(row.getLong("id"), row.getLong("org_id"), row.getLong("amount_micros"),
        row.getString("kind"), row.getString("reason"), row.getString("idempotency_key"),
        row.getString("request_id"), row.getOffsetDateTime("created_at"));
  }
}
