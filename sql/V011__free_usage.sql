-- A settlement that costs nothing (a request answered 503 before any backend was reached, a request that produced
-- no tokens) writes no ledger row: a debit of $0.00 moves no money. Its usage row must still land exactly once.
-- Paid rows keep their guard, the ledger debit's idempotency key 'usage:<request_id>'; free ones get this table
-- of request ids instead (a usage row's request id cannot be UNIQUE across the partitions of usage, and the
-- direct writer used while Redis is down stamps a different time than the stream, so (request_id, created_at)
-- would not do). See ai.gpt.api.usage.UsageSql.
CREATE TABLE usage_free_requests (
    request_id  TEXT        PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
