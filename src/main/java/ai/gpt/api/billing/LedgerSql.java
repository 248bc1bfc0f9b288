package ai.gpt.api.billing;

/** Every SQL statement of the credit ledger, in one place. */
public final class LedgerSql {
  private LedgerSql() {}

  static final String COLUMNS = "id, org_id, amount_micros, kind, reason, idempotency_key, request_id, created_at";

  /** Inserts a row unless its idempotency key exists; returns the row only when it was inserted. */
  public static final String INSERT = "INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key)"
      + " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING RETURNING " + COLUMNS;

  public static final String BY_KEY = "SELECT " + COLUMNS + " FROM credit_ledger WHERE idempotency_key = $1";

  /** The running balance (org_balances, kept exact by triggers on credit_ledger): one primary-key read. */
  public static final String BALANCE = "SELECT COALESCE((SELECT balance_micros FROM org_balances WHERE org_id = $1),"
      + " 0)::bigint AS balance";

  static final String BALANCES = "SELECT org_id, balance_micros AS balance FROM org_balances"
      + " WHERE org_id = ANY($1)";

  /**
   * The balance minus the costs ($2 request ids, $3 micro-USD) of queued usage events not written yet (their id
   * is not in usage_requests); one statement, one snapshot, and the writer adds a request's id and its cost to
   * the balance in one transaction, so an event committed meanwhile is counted exactly once.
   */
  static final String BALANCE_NET_OF_QUEUED = """
      SELECT COALESCE((SELECT balance_micros FROM org_balances WHERE org_id = $1), 0)::bigint
           - COALESCE((SELECT SUM(q.cost) FROM unnest($2::text[], $3::bigint[]) AS q(request_id, cost)
                       WHERE NOT EXISTS (SELECT 1 FROM usage_requests r WHERE r.request_id = q.request_id)), 0)::bigint
             AS balance""";

  static final String HISTORY = "SELECT " + COLUMNS + " FROM credit_ledger WHERE org_id = $1"
      + " ORDER BY created_at DESC, id DESC LIMIT $2";

  static final String ORG_BY_NAME_OR_ID =
      "SELECT id, name FROM organizations WHERE name = $1 OR id::text = $1 ORDER BY (name = $1) DESC LIMIT 1";

  public static final String ORG_EXISTS = "SELECT 1 FROM organizations WHERE id = $1";
}
