package ai.gpt.api.billing;

import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.Map;

/**
 * Credit transfers between organizations that the sender's balance must cover, in one transaction: the sender's
 * organization row is locked (FOR NO KEY UPDATE, so transfers from one organization run one at a time while
 * usage debits, which only take key-share locks, are not blocked), the idempotency key is looked up, the balance
 * (net of usage still queued for the writer) is checked, and both ledger rows are inserted. A replay with the
 * same key returns the transfer already made without checking the balance again.
 */
public final class Transfers {
  /** The outcome: both ledger rows (debit first), whether this call made them, the sender's balance after. */
  public record Result(LedgerEntry out, LedgerEntry in, boolean applied, long senderBalanceMicros) {}

  private static final String LOCK_SENDER = "SELECT id FROM organizations WHERE id = $1 FOR NO KEY UPDATE";

  private final Pool pool;

  public Transfers(Pool pool) {
    this.pool = pool;
  }

  /**
   * Moves {@code micros} from one organization to another. Fails with 402 insufficient_quota when the sender's
   * balance does not cover it, 409 when the key was used for a different transfer.
   *
   * @param queuedCosts the sender's settled usage not yet in the ledger (request id → micro-USD)
   */
  public Future<Result> transfer(long fromOrgId, long toOrgId, long micros, String reason, String idempotencyKey,
      Map<String, Long> queuedCosts) {
    String from = idempotencyKey + ":from";
    String to = idempotencyKey + ":to";
    return pool.withTransaction(tx -> tx.preparedQuery(LOCK_SENDER).execute(Tuple.of(fromOrgId))
        .compose(locked -> tx.preparedQuery(LedgerSql.BY_KEY).execute(Tuple.of(from)))
        .compose(existing -> {
          if (existing.size() > 0) {
            return tx.preparedQuery(LedgerSql.BY_KEY).execute(Tuple.of(to)).compose(in -> {
              LedgerEntry a = entry(existing.iterator().next());
              LedgerEntry b = in.size() == 0 ? null : entry(in.iterator().next());
              if (b == null || a.orgId() != fromOrgId || b.orgId() != toOrgId || b.amountMicros() != micros) {
                return Future.failedFuture(ApiError.of(409, "idempotency_key_reused",
                    "This Idempotency-Key was already used for a different transfer.", null));
              }
              return balance(tx, fromOrgId, queuedCosts).map(bal -> new Result(a, b, false, bal));
            });
          }
          return balance(tx, fromOrgId, queuedCosts).compose(bal -> {
            if (bal < micros) {
              return Future.failedFuture(ApiError.insufficientQuota("The balance of the organization ("
                  + Money.formatUsd(bal) + ") does not cover a transfer of " + Money.formatUsd(micros) + "."));
            }
            return insert(tx, fromOrgId, -micros, reason, from).compose(a -> insert(tx, toOrgId, micros, reason, to)
                .map(b -> new Result(a, b, true, bal - micros)));
          });
        }));
  }

  private static Future<Long> balance(SqlConnection tx, long orgId, Map<String, Long> queuedCosts) {
    String[] ids = queuedCosts.keySet().toArray(String[]::new);
    Long[] costs = new Long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      costs[i] = queuedCosts.get(ids[i]);
    }
    return tx.preparedQuery(LedgerSql.BALANCE_NET_OF_QUEUED).execute(Tuple.of(orgId, ids, costs))
        .map(rows -> rows.iterator().next().getLong("balance"));
  }

  private static Future<LedgerEntry> insert(SqlConnection tx, long orgId, long micros, String reason, String key) {
    return tx.preparedQuery(LedgerSql.INSERT).execute(Tuple.of(orgId, micros, "transfer", reason, key))
        .compose(rows -> rows.size() == 0
            // Only a concurrent transfer with the same key could have taken it, and the sender lock prevents that.
            ? Future.failedFuture(ApiError.of(409, "idempotency_key_reused",
                "This Idempotency-Key was already used.", null))
            : Future.succeededFuture(entry(rows.iterator().next())));
  }

  static LedgerEntry entry(Row row) {
    return new LedgerEntry(row.getLong("id"), row.getLong("org_id"), row.getLong("amount_micros"),
        row.getString("kind"), row.getString("reason"), row.getString("idempotency_key"),
        row.getString("request_id"), row.getOffsetDateTime("created_at"));
  }
}
