package ai.gpt.api.usage;

/** Every SQL statement of the usage writer, in one place. */
final class UsageSql {
  private UsageSql() {}

  /**
   * Writes a batch of usage events in ONE statement, hence one transaction: $1..$15 are parallel arrays, one
   * element per event (request ids unique within the batch). The ledger debit is inserted first with
   * idempotency key 'usage:<request_id>'; only debits that were really inserted (not already present from an
   * earlier delivery of the same event) produce a usage row. The row count is the number of usage rows written.
   */
  static final String INSERT_BATCH = """
      WITH v AS (
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::text[],
                             $7::int[], $8::int[], $9::int[], $10::bigint[], $11::int[], $12::bool[],
                             $13::int[], $14::int[], $15::bigint[])
          AS v(request_id, org_id, key_id, model, backend_id, endpoint, prompt_tokens, completion_tokens,
               cached_tokens, cost_micros, status, estimated, latency_ms, ttft_ms, ts_ms)
      ), l AS (
        INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, idempotency_key, request_id, created_at)
        SELECT org_id, -cost_micros, 'debit', 'usage ' || model, 'usage:' || request_id, request_id,
               timestamptz 'epoch' + ts_ms * interval '1 millisecond'
        FROM v
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING request_id, created_at
      )
      INSERT INTO usage (request_id, org_id, key_id, model, backend_id, endpoint, prompt_tokens,
                         completion_tokens, cached_tokens, cost_micros, status, estimated, latency_ms, ttft_ms,
                         created_at)
      SELECT v.request_id, v.org_id, v.key_id, v.model, v.backend_id, v.endpoint, v.prompt_tokens,
             v.completion_tokens, v.cached_tokens, v.cost_micros, v.status, v.estimated, v.latency_ms, v.ttft_ms,
             l.created_at
      FROM l JOIN v ON v.request_id = l.request_id""";

  /** Keeps entries that cannot be stored (malformed, unknown organization…) so they can be inspected and replayed. */
  static final String INSERT_REJECTS = """
      INSERT INTO usage_rejects (stream, entry_id, fields, error)
      SELECT s, e, f::jsonb, err FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS r(s, e, f, err)
      ON CONFLICT (stream, entry_id) DO NOTHING""";

  /** Creates this month's and the next months' partitions of {@code usage} (see V002__metering.sql). */
  static final String ENSURE_PARTITIONS = "SELECT usage_ensure_partitions($1)";
}
