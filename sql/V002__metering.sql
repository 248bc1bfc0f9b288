-- Metering: plans and limits, the credit ledger, and the usage table the usage writer fills from Redis.
-- Money is integer micro-USD (1 USD = 1,000,000), never a float. A NULL limit means unlimited.

-- ---------------------------------------------------------------------------------------------------------
-- Limits: a plan carries the defaults; an organization may override any of them; a key may narrow them.
-- rpm/rph/rpd = requests per minute/hour/day, tpm/tph/tpd = tokens (prompt + completion) per
-- minute/hour/day, concurrency = requests in flight at once.
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE plans (
    id           TEXT PRIMARY KEY,
    name         TEXT        NOT NULL,
    rpm          BIGINT CHECK (rpm >= 0),
    rph          BIGINT CHECK (rph >= 0),
    rpd          BIGINT CHECK (rpd >= 0),
    tpm          BIGINT CHECK (tpm >= 0),
    tph          BIGINT CHECK (tph >= 0),
    tpd          BIGINT CHECK (tpd >= 0),
    concurrency  INTEGER CHECK (concurrency >= 0),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO plans (id, name, rpm, rph, rpd, tpm, tph, tpd, concurrency) VALUES
    ('default', 'Default', 600, 20000, 200000, 2000000, 40000000, 400000000, 32);

ALTER TABLE organizations
    ADD COLUMN plan_id      TEXT NOT NULL DEFAULT 'default' REFERENCES plans(id),
    ADD COLUMN rpm          BIGINT CHECK (rpm >= 0),
    ADD COLUMN rph          BIGINT CHECK (rph >= 0),
    ADD COLUMN rpd          BIGINT CHECK (rpd >= 0),
    ADD COLUMN tpm          BIGINT CHECK (tpm >= 0),
    ADD COLUMN tph          BIGINT CHECK (tph >= 0),
    ADD COLUMN tpd          BIGINT CHECK (tpd >= 0),
    ADD COLUMN concurrency  INTEGER CHECK (concurrency >= 0);

ALTER TABLE api_keys
    ADD COLUMN rpm          BIGINT CHECK (rpm >= 0),
    ADD COLUMN rph          BIGINT CHECK (rph >= 0),
    ADD COLUMN rpd          BIGINT CHECK (rpd >= 0),
    ADD COLUMN tpm          BIGINT CHECK (tpm >= 0),
    ADD COLUMN tph          BIGINT CHECK (tph >= 0),
    ADD COLUMN tpd          BIGINT CHECK (tpd >= 0),
    ADD COLUMN concurrency  INTEGER CHECK (concurrency >= 0);

-- ---------------------------------------------------------------------------------------------------------
-- Credit ledger: the source of truth for every organization's balance (= SUM(amount_micros)).
-- One row per credit, debit, transfer leg or adjustment; +credit / -debit. Each row carries a unique
-- idempotency key, so a retried operation can never be applied twice:
--   'usage:<request_id>'   the debit of one metered request (written by the usage writer)
--   anything else          chosen by the caller (the CLI generates one per invocation)
-- Rows are never updated or deleted, so the organization FK deliberately has no ON DELETE CASCADE.
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE credit_ledger (
    id               BIGSERIAL   PRIMARY KEY,
    org_id           BIGINT      NOT NULL REFERENCES organizations(id),
    amount_micros    BIGINT      NOT NULL,
    kind             TEXT        NOT NULL CHECK (kind IN ('credit', 'debit', 'transfer', 'adjustment')),
    reason           TEXT        NOT NULL DEFAULT '',
    idempotency_key  TEXT        NOT NULL UNIQUE,
    request_id       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- INCLUDE lets balance() and history() be index-only scans over one organization's rows.
CREATE INDEX credit_ledger_org_created_idx ON credit_ledger (org_id, created_at) INCLUDE (amount_micros);

-- ---------------------------------------------------------------------------------------------------------
-- Usage: one row per metered request, partitioned by month on created_at (the event's own timestamp, so a
-- replay after an outage lands in the right month), to keep tens of millions of rows cheap to query and old
-- months cheap to detach or drop. Rows whose month has no partition go to usage_default.
--
-- Exactly-once by request id: a primary key on a partitioned table must include the partition key, so
-- UNIQUE (request_id) cannot be declared here. Idempotency comes from the ledger instead: the writer inserts
-- the request's debit with idempotency key 'usage:<request_id>' ON CONFLICT DO NOTHING and inserts the
-- usage row only for debits that were actually inserted, both in ONE statement (a data-modifying CTE,
-- see ai.gpt.api.usage.UsageSql). A replayed event therefore inserts neither row, in any partition, and
-- every usage row has exactly one ledger debit. We chose this over a separate usage_ids(request_id PK)
-- table because the ledger's unique index already exists and must hold anyway; a second unique index would
-- cost every insert another B-tree write for no extra guarantee.
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE usage (
    request_id         TEXT        NOT NULL,
    org_id             BIGINT      NOT NULL,
    key_id             BIGINT,
    model              TEXT        NOT NULL,
    backend_id         BIGINT,
    endpoint           TEXT        NOT NULL DEFAULT '',
    prompt_tokens      INTEGER     NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens  INTEGER     NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    cached_tokens      INTEGER     NOT NULL DEFAULT 0 CHECK (cached_tokens >= 0),
    cost_micros        BIGINT      NOT NULL CHECK (cost_micros >= 0),
    status             INTEGER     NOT NULL,
    estimated          BOOLEAN     NOT NULL DEFAULT false,
    latency_ms         INTEGER,
    ttft_ms            INTEGER,
    created_at         TIMESTAMPTZ NOT NULL
) PARTITION BY RANGE (created_at);

CREATE TABLE usage_default PARTITION OF usage DEFAULT;

-- Analytics: per organization and per key over time. Created on the parent, so every partition gets them.
CREATE INDEX usage_org_created_idx ON usage (org_id, created_at);
CREATE INDEX usage_key_created_idx ON usage (key_id, created_at);

-- Creates the monthly partitions (UTC months) from the current month to months_ahead months later, named
-- usage_yYYYYmMM. Safe to call concurrently and repeatedly (the usage writer calls it at start and daily).
-- Rows that already fell into usage_default for a month being created are moved into the new partition in
-- the same transaction, because PostgreSQL refuses to create a partition whose range the default
-- partition already holds rows for.
CREATE FUNCTION usage_ensure_partitions(months_ahead INTEGER DEFAULT 3) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    first_month TIMESTAMPTZ := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    lo          TIMESTAMPTZ;
    hi          TIMESTAMPTZ;
    part        TEXT;
    created     INTEGER := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('usage_ensure_partitions'));
    FOR i IN 0..months_ahead LOOP
        lo := ((first_month AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
        hi := ((first_month AT TIME ZONE 'UTC') + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
        part := 'usage_' || to_char(lo AT TIME ZONE 'UTC', '"y"YYYY"m"MM');
        CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I (LIKE usage INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
        EXECUTE format('WITH moved AS (DELETE FROM usage_default WHERE created_at >= %L AND created_at < %L RETURNING *)
                        INSERT INTO %I SELECT * FROM moved', lo, hi, part);
        EXECUTE format('ALTER TABLE usage ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
        created := created + 1;
    END LOOP;
    RETURN created;
END $$;

SELECT usage_ensure_partitions(3);

-- Usage stream entries the writer could not store (malformed fields, unknown organization, negative cost…).
-- They are kept here, acknowledged in Redis and logged, instead of blocking the stream forever.
CREATE TABLE usage_rejects (
    id          BIGSERIAL   PRIMARY KEY,
    stream      TEXT        NOT NULL,
    entry_id    TEXT        NOT NULL,
    fields      JSONB       NOT NULL,
    error       TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (stream, entry_id)
);
