package ai.gpt.api.testing;

/**
 * Checks of the usage debits in the ledger: one row per organization and UTC day ('usage:day:<org>:<date>') whose
 * amount is minus the cost of that day's usage rows, every usage row counted once (its id in usage_requests).
 */
public final class UsageDebits {
  private UsageDebits() {}

  /** Day debits that differ from minus the sum of their day's usage rows, as text; none when billing is exact. */
  public static final String MISMATCHED = """
      SELECT l.idempotency_key || ' debit ' || l.amount_micros || ' usage ' || COALESCE(u.cost, 0)
        FROM credit_ledger l
        LEFT JOIN LATERAL (SELECT sum(cost_micros) AS cost FROM usage u WHERE u.org_id = l.org_id
                            AND u.created_at >= l.created_at AND u.created_at < l.created_at + interval '1 day') u
               ON true
       WHERE l.idempotency_key LIKE 'usage:day:%' AND l.amount_micros <> -COALESCE(u.cost, 0)""";

  /** Paid usage (organization, UTC day) without its day debit, as text; none when billing is exact. */
  public static final String UNDEBITED = """
      SELECT DISTINCT u.org_id || ' ' || to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM usage u
       WHERE u.cost_micros > 0 AND NOT EXISTS (
             SELECT 1 FROM credit_ledger l WHERE l.idempotency_key = 'usage:day:' || u.org_id || ':'
                                                 || to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))""";

  /** Usage rows whose request id is not in usage_requests (the exactly-once guard), as request ids. */
  public static final String UNGUARDED = """
      SELECT u.request_id FROM usage u
       WHERE NOT EXISTS (SELECT 1 FROM usage_requests r WHERE r.request_id = u.request_id)""";
}
