package ai.gpt.api.billing;

/** Every SQL statement of the credit ledger, in one place. */
public final class LedgerSql {
  private LedgerSql() {}

  static final String COLUMNS = "id, org_id, amount_micros, kind, reason, idempotency_key, request_id, created_at";

  /** Inserts a row unless its idempotency key exists; returns the row only when it was inserted. */
  public static final String INSERT = "INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key)"
      + " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING RETURNING " + COLUMNS;

  public static final String BY_KEY = "SELECT " + COLUMNS + " FROM credit_ledger WHERE idempotency_key = $1";

  public static final String BALANCE =
      "SELECT COALESCE(SUM(amount_micros), 0)::bigint AS balance FROM credit_ledger WHERE org_id = $1";

  static final String BALANCES = "SELECT org_id, SUM(amount_micros)::bigint AS balance FROM credit_ledger"
      + " WHERE org_id = ANY($1) GROUP BY org_id";

  /**
   * The balance minus the costs ($2 request ids, $3 micro-USD) of queued usage events whose debit is not in the
   * ledger yet; one statement, so events committed meanwhile are counted exactly once (in the sum, not here).
   */
  static final String BALANCE_NET_OF_QUEUED = """
      SELECT (SELECT COALESCE(SUM(amount_micros), 0) FROM credit_ledger WHERE org_id = $1)::bigint
           - COALESCE((SELECT SUM(q.cost) FROM unnest($2::text[], $3::bigint[]) AS q(request_id, cost)
                       WHERE NOT EXISTS (SELECT 1 FROM credit_ledger l
                                         WHERE l.idempotency_key = 'usage:' || q.request_id)), 0)::bigint
             AS balance""";

  static final String HISTORY = "SELECT " + COLUMNS + " FROM credit_ledger WHERE org_id = $1"
      + " ORDER BY created_at DESC, id DESC LIMIT $2";

  static final String ORG_BY_NAME_OR_ID =
      "SELECT id, name FROM organizations WHERE name = $1 OR id::text = $1 ORDER BY (name = $1) DESC LIMIT 1";

  public static final String ORG_EXISTS = "SELECT 1 FROM organizations WHERE id = $1";
}
