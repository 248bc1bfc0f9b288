package ai.gpt.api.billing;

import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The credit ledger in PostgreSQL, the source of truth for balances: a balance is the sum of the
 * organization's rows (credits positive, debits negative), kept as a running total in {@code org_balances} by
 * triggers in the same transaction as every ledger write, so reading it costs the same however long the history.
 * Every write carries an idempotency key, so retrying an operation never applies it twice. Usage debits are
 * written by {@code ai.gpt.api.usage.UsageWriter}, one row per organization and UTC day with the key
 * {@code usage:day:<org>:<YYYY-MM-DD>} (rows before V024: one per request, {@code usage:<request_id>}); this
 * class writes credits and reads balances. Debits (transfers,
 * deductions) must be held against the available credit first, so they are written only through
 * {@link CreditDebits} ({@link Transfers}, the admin API).
 * All methods are asynchronous and safe to call from an event loop; the CLI may {@code await()} them.
 */
public final class Ledger {
  public static final int MAX_HISTORY = 1_000;
  /** Idempotency keys of usage debits are this prefix plus the request id; other callers may not use it. */
  public static final String USAGE_KEY_PREFIX = "usage:";

  private final Pool pool;

  public Ledger(Pool pool) {
    this.pool = pool;
  }

  /** Adds {@code micros} (> 0) to the organization's balance once per idempotency key. */
  public Future<CreditResult> credit(long orgId, long micros, String reason, String idempotencyKey) {
    if (micros <= 0) {
      return Future.failedFuture(new LedgerException("A credit must be a positive amount, got "
          + Money.formatUsd(micros) + "."));
    }
    return post(orgId, micros, "credit", reason, idempotencyKey);
  }

  /** The organization's balance in micro-USD: SUM(amount_micros) of its rows (the running total), 0 without. */
  public Future<Long> balance(long orgId) {
    return pool.preparedQuery(LedgerSql.BALANCE).execute(Tuple.of(orgId))
        .map(rows -> rows.iterator().next().getLong("balance"));
  }

  /**
   * The balance minus the costs of usage events that are settled (charged in Redis) but still queued, i.e.
   * whose debit is not in the ledger yet: what a Redis hot balance must start from. {@code queuedCosts} maps
   * request id to micro-USD (see {@code ai.gpt.api.usage.QueuedUsageBalance}); events written meanwhile are
   * counted once, by the ledger.
   */
  public Future<Long> balanceNetOfQueued(long orgId, Map<String, Long> queuedCosts) {
    String[] ids = queuedCosts.keySet().toArray(String[]::new);
    Long[] costs = new Long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      costs[i] = queuedCosts.get(ids[i]);
    }
    return pool.preparedQuery(LedgerSql.BALANCE_NET_OF_QUEUED).execute(Tuple.of(orgId, ids, costs))
        .map(rows -> rows.iterator().next().getLong("balance"));
  }

  /** Balances of several organizations at once (unknown organizations are absent), e.g. to load Redis. */
  public Future<Map<Long, Long>> balances(List<Long> orgIds) {
    return pool.preparedQuery(LedgerSql.BALANCES).execute(Tuple.of(orgIds.toArray(Long[]::new))).map(rows -> {
      Map<Long, Long> out = new HashMap<>();
      for (Row row : rows) {
        out.put(row.getLong("org_id"), row.getLong("balance"));
      }
      return out;
    });
  }

  /** The organization's latest ledger rows, newest first, at most {@code limit} (capped at {@value #MAX_HISTORY}). */
  public Future<List<LedgerEntry>> history(long orgId, int limit) {
    int n = Math.max(1, Math.min(limit, MAX_HISTORY));
    return pool.preparedQuery(LedgerSql.HISTORY).execute(Tuple.of(orgId, n)).map(Ledger::entries);
  }

  // ---- for the operator CLI (credits add / credits show) -------------------------------------------------

  /** The id of the organization with this name or number; fails with {@link LedgerException} when none. */
  public Future<Long> resolveOrg(String nameOrId) {
    return findOrg(nameOrId).map(row -> row.getLong("id"));
  }

  /**
   * {@code credits add --org ORG --usd 10 --reason "..."}: credits a USD amount given as text (exact, at most
   * 6 decimals). A null idempotency key makes a fresh one ({@code cli:<uuid>}), i.e. each call credits once.
   */
  public Future<CreditResult> creditUsd(String org, String usd, String reason, String idempotencyKey) {
    long micros;
    try {
      micros = Money.parseUsd(usd, false);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new LedgerException("Invalid --usd: " + e.getMessage()));
    }
    String key = idempotencyKey == null || idempotencyKey.isBlank() ? "cli:" + UUID.randomUUID() : idempotencyKey;
    return resolveOrg(org).compose(orgId -> credit(orgId, micros, reason, key));
  }

  /** {@code credits show --org ORG}: balance and the latest {@code limit} rows. */
  public Future<AccountStatement> statement(String org, int limit) {
    return findOrg(org).compose(row -> {
      long orgId = row.getLong("id");
      return balance(orgId).compose(balance -> history(orgId, limit)
          .map(recent -> new AccountStatement(orgId, row.getString("name"), balance, recent)));
    });
  }

  // ---- internals ------------------------------------------------------------------------------------------

  private Future<Row> findOrg(String nameOrId) {
    return pool.preparedQuery(LedgerSql.ORG_BY_NAME_OR_ID).execute(Tuple.of(nameOrId)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.failedFuture(new LedgerException("No organization named or numbered '" + nameOrId + "'."));
      }
      return Future.succeededFuture(rows.iterator().next());
    });
  }

  private Future<CreditResult> post(long orgId, long micros, String kind, String reason, String key) {
    return checkKey(key)
        .compose(v -> insert(pool, orgId, micros, kind, reason, key))
        .compose(rows -> {
          if (rows.size() > 0) {
            LedgerEntry entry = entry(rows.iterator().next());
            return balance(orgId).map(b -> new CreditResult(entry, true, b));
          }
          return pool.preparedQuery(LedgerSql.BY_KEY).execute(Tuple.of(key)).compose(existing -> {
            LedgerEntry entry = entry(existing.iterator().next());
            if (entry.orgId() != orgId || entry.amountMicros() != micros || !entry.kind().equals(kind)) {
              return Future.failedFuture(new LedgerException("Idempotency key '" + key
                  + "' was already used for a different operation (" + entry.kind() + " of "
                  + Money.formatUsd(entry.amountMicros()) + " for organization " + entry.orgId() + ")."));
            }
            return balance(orgId).map(b -> new CreditResult(entry, false, b));
          });
        })
        .recover(Ledger::translate);
  }

  private static Future<RowSet<Row>> insert(SqlClient client, long orgId, long micros, String kind, String reason,
      String key) {
    return client.preparedQuery(LedgerSql.INSERT)
        .execute(Tuple.of(orgId, micros, kind, reason == null ? "" : reason, key));
  }

  private static Future<Void> checkKey(String key) {
    if (key == null || key.isBlank()) {
      return Future.failedFuture(new LedgerException("An idempotency key is required."));
    }
    if (key.startsWith(USAGE_KEY_PREFIX)) {
      return Future.failedFuture(
          new LedgerException("Idempotency keys starting with 'usage:' are reserved for usage debits."));
    }
    return Future.succeededFuture();
  }

  private static <T> Future<T> translate(Throwable e) {
    if (e instanceof PgException pg && "23503".equals(pg.getSqlState())) {
      return Future.failedFuture(new LedgerException("No such organization."));
    }
    return Future.failedFuture(e);
  }

  private static List<LedgerEntry> entries(RowSet<Row> rows) {
    List<LedgerEntry> out = new ArrayList<>(rows.size());
    for (Row row : rows) {
      out.add(entry(row));
    }
    return out;
  }

  private static LedgerEntry entry(Row row) {
    return new LedgerEntry(row.getLong("id"), row.getLong("org_id"), row.getLong("amount_micros"),
        row.getString("kind"), row.getString("reason"), row.getString("idempotency_key"),
        row.getString("request_id"), row.getOffsetDateTime("created_at"));
  }
}
