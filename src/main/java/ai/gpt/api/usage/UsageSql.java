package ai.gpt.api.usage;

import io.vertx.sqlclient.Tuple;
import java.util.List;

/** Every SQL statement of the usage writer, in one place. */
final class UsageSql {
  private UsageSql() {}

  /**
   * Writes a batch of usage events in ONE statement, hence one transaction: $1..$15 are parallel arrays, one
   * element per event (request ids unique within the batch). Exactly once per request id: each request id is
   * inserted into usage_requests ON CONFLICT DO NOTHING, and only events whose id was really inserted (not already
   * present from an earlier delivery) produce a usage row and add their cost to the organization's ledger debit
   * for that UTC day ('usage:day:<org>:<YYYY-MM-DD>', upserted; its triggers keep org_balances exact). The ledger
   * thus gains one row per organization and day, not one per request; the request's own cost stays in usage.
   * Debit rows are upserted in (org, day) order so that concurrent batches lock them in the same order. The row
   * count is the number of usage rows.
   */
  static final String INSERT_BATCH = """
      WITH v AS (
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[],
                             $7::int[], $8::int[], $9::int[], $10::bigint[], $11::int[], $12::bool[],
                             $13::int[], $14::int[], $15::bigint[])
          AS v(request_id, org_id, key_id, model, backend_id, endpoint, prompt_tokens, completion_tokens,
               cached_tokens, cost_micros, status, estimated, latency_ms, ttft_ms, ts_ms)
      ), fresh AS (
        INSERT INTO usage_requests (request_id)
        SELECT request_id FROM v
        ON CONFLICT (request_id) DO NOTHING
        RETURNING request_id
      ), added AS (
        SELECT v.*, timestamptz 'epoch' + v.ts_ms * interval '1 millisecond' AS ts
        FROM fresh JOIN v ON v.request_id = fresh.request_id
      ), debits AS (
        INSERT INTO credit_ledger AS l (org_id, amount_micros, kind, reason, idempotency_key, created_at)
        SELECT org_id, -SUM(cost_micros)::bigint, 'debit', 'usage on ' || to_char(day, 'YYYY-MM-DD') || ' (UTC)',
               'usage:day:' || org_id || ':' || to_char(day, 'YYYY-MM-DD'), day AT TIME ZONE 'UTC'
        FROM (SELECT org_id, cost_micros, date_trunc('day', ts AT TIME ZONE 'UTC') AS day FROM added
              WHERE cost_micros <> 0) d
        GROUP BY org_id, day
        ORDER BY org_id, day
        ON CONFLICT (idempotency_key) DO UPDATE SET amount_micros = l.amount_micros + EXCLUDED.amount_micros
      )
      INSERT INTO usage (request_id, org_id, key_id, model, backend_id, endpoint, prompt_tokens,
                         completion_tokens, cached_tokens, cost_micros, status, estimated, latency_ms, ttft_ms,
                         created_at)
      SELECT request_id, org_id, key_id, model, backend_id, endpoint, prompt_tokens, completion_tokens,
             cached_tokens, cost_micros, status, estimated, latency_ms, ttft_ms, ts
      FROM added""";

  /**
   * Marks the organization's hot balance stale ($1), after {@link #INSERT_BATCH} in the direct writer's transaction:
   * that charge did not go through Redis (see hot_balance_stale). After, not before: every writer takes an
   * organization's org_balances row before its hot_balance_stale row, so they never wait on each other in a cycle.
   */
  static final String MARK_STALE = "INSERT INTO hot_balance_stale (org_id) VALUES ($1)"
      + " ON CONFLICT (org_id) DO UPDATE SET seq = nextval('hot_balance_stale_seq')";

  /** Keeps entries that cannot be stored (malformed, unknown organization…) so they can be inspected and replayed. */
  static final String INSERT_REJECTS = """
      INSERT INTO usage_rejects (stream, entry_id, fields, error)
      SELECT s, e, f::jsonb, err FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS r(s, e, f, err)
      ON CONFLICT (stream, entry_id) DO NOTHING""";

  /** Creates this month's and the next months' partitions of {@code usage} (see V002__metering.sql). */
  static final String ENSURE_PARTITIONS = "SELECT usage_ensure_partitions($1)";

  /** The arrays INSERT_BATCH unnests, one element per event. */
  static Tuple batchArgs(List<UsageRecord> records) {
    int n = records.size();
    String[] requestIds = new String[n];
    Long[] orgIds = new Long[n];
    Long[] keyIds = new Long[n];
    String[] models = new String[n];
    Long[] backendIds = new Long[n];
    String[] endpoints = new String[n];
    Integer[] prompt = new Integer[n];
    Integer[] completion = new Integer[n];
    Integer[] cached = new Integer[n];
    Long[] cost = new Long[n];
    Integer[] status = new Integer[n];
    Boolean[] estimated = new Boolean[n];
    Integer[] latency = new Integer[n];
    Integer[] ttft = new Integer[n];
    Long[] ts = new Long[n];
    for (int i = 0; i < n; i++) {
      UsageRecord r = records.get(i);
      requestIds[i] = r.requestId();
      orgIds[i] = r.orgId();
      keyIds[i] = r.keyId();
      models[i] = r.model();
      backendIds[i] = r.backendId();
      endpoints[i] = r.endpoint();
      prompt[i] = r.promptTokens();
      completion[i] = r.completionTokens();
      cached[i] = r.cachedTokens();
      cost[i] = r.costMicros();
      status[i] = r.status();
      estimated[i] = r.estimated();
      latency[i] = r.latencyMs();
      ttft[i] = r.ttftMs();
      ts[i] = r.tsMs();
    }
    return Tuple.wrap(new Object[] {requestIds, orgIds, keyIds, models, backendIds, endpoints, prompt, completion,
        cached, cost, status, estimated, latency, ttft, ts});
  }
}
