-- Costs that do not grow with history (issue 12).
--
-- 1. org_balances: every organization's running balance, kept exact by triggers on credit_ledger in the SAME
--    transaction as every ledger write (usage writer, admin, Stripe, transfers, CLI), so a balance is one
--    primary-key read instead of a SUM over the organization's whole ledger.
-- 2. Usage debits are aggregated: one ledger row per organization and UTC day ('usage:day:<org>:<YYYY-MM-DD>'),
--    upserted by the usage writer, instead of one row per request. Exactly-once moves from the ledger's
--    idempotency key to usage_requests (formerly usage_free_requests): the writer inserts the request id
--    ON CONFLICT DO NOTHING and adds only newly inserted requests to the usage row and the day's debit, all in
--    one statement. The per-request detail (cost_micros) stays in usage.
-- 3. hot_balance_stale: organizations whose Redis hot balance may miss a ledger change (a write that did not
--    go through Redis first), so a starting gateway drops only those instead of every hot balance.
-- 4. usage_ensure_partitions builds a new partition's indexes before attaching it (see below).

-- ---------------------------------------------------------------------------------------------------------
-- 1. Running balances
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE org_balances (
    org_id          BIGINT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    balance_micros  BIGINT NOT NULL DEFAULT 0
);

-- Lock the ledger against writers while the running balances are computed from it.
LOCK TABLE credit_ledger IN SHARE MODE;

INSERT INTO org_balances (org_id, balance_micros)
SELECT o.id, COALESCE(l.balance, 0)
FROM organizations o
LEFT JOIN (SELECT org_id, SUM(amount_micros)::bigint AS balance FROM credit_ledger GROUP BY org_id) l
       ON l.org_id = o.id;

-- Every organization has its row from birth, so writers can lock several in id order (see Transfers).
CREATE FUNCTION org_balances_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO org_balances (org_id) VALUES (NEW.id) ON CONFLICT (org_id) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER org_balances_open AFTER INSERT ON organizations
    FOR EACH ROW EXECUTE FUNCTION org_balances_open();

-- Row-level, so the row's own change is in the balance when the later AFTER triggers of the same row run
-- (webhook_credits_added reports the balance a credit leaves; triggers fire in name order, 'credit_…' first).
-- A bulk load of many rows of ONE organization in one transaction would update its balance row once per ledger
-- row; load such history with triggers disabled and set org_balances from SUM afterwards (see HistoryCostTest).
CREATE FUNCTION credit_ledger_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.org_id = OLD.org_id THEN
        IF NEW.amount_micros <> OLD.amount_micros THEN
            UPDATE org_balances SET balance_micros = balance_micros + (NEW.amount_micros - OLD.amount_micros)
             WHERE org_id = NEW.org_id;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE org_balances SET balance_micros = balance_micros - OLD.amount_micros WHERE org_id = OLD.org_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO org_balances AS b (org_id, balance_micros) VALUES (NEW.org_id, NEW.amount_micros)
        ON CONFLICT (org_id) DO UPDATE SET balance_micros = b.balance_micros + EXCLUDED.balance_micros;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER credit_ledger_balance AFTER INSERT OR UPDATE OR DELETE ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION credit_ledger_balance();

-- TRUNCATE fires no row triggers (the tests truncate the ledger between cases).
CREATE FUNCTION credit_ledger_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE org_balances SET balance_micros = 0 WHERE balance_micros <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER credit_ledger_truncated AFTER TRUNCATE ON credit_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_truncated();

-- The credits.added webhook reports the balance the credit leaves: one row read instead of a SUM.
CREATE OR REPLACE FUNCTION webhook_credits_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM webhook_endpoints
               WHERE org_id = NEW.org_id AND enabled AND 'credits.added' = ANY (events)) THEN
        PERFORM webhook_emit(NEW.org_id, 'credits.added', jsonb_build_object(
            'entry_id', NEW.id, 'amount_micros', NEW.amount_micros, 'reason', NEW.reason,
            'balance_micros', (SELECT balance_micros FROM org_balances WHERE org_id = NEW.org_id),
            'created_at', NEW.created_at), NEW.created_at);
    END IF;
    RETURN NULL;
END $$;

-- ---------------------------------------------------------------------------------------------------------
-- 2. Exactly-once by request id, for paid and free requests alike
-- ---------------------------------------------------------------------------------------------------------
-- The rename is also a fence for a rolling deploy: a gateway of the previous version still running after this
-- migration deduplicates paid events on the ledger key 'usage:<request_id>', which the new writers no longer write,
-- so it could bill an event a new writer billed too. Its write statement names usage_free_requests and now fails
-- as a whole; its events stay pending in Redis and a new replica's writer takes them over (XAUTOCLAIM), once.
ALTER TABLE usage_free_requests RENAME TO usage_requests;
ALTER INDEX usage_free_requests_pkey RENAME TO usage_requests_pkey;
-- Requests billed before this migration were guarded by their ledger debit 'usage:<request_id>'; those rows stay
-- (history is not rewritten), and their ids join the new guard so a late replay of one is still refused.
INSERT INTO usage_requests (request_id, created_at)
SELECT request_id, created_at FROM credit_ledger
 WHERE idempotency_key LIKE 'usage:%' AND request_id IS NOT NULL
ON CONFLICT (request_id) DO NOTHING;

-- ---------------------------------------------------------------------------------------------------------
-- 3. Hot balances that may miss a ledger change
-- ---------------------------------------------------------------------------------------------------------
-- A ledger change reaches an organization's Redis hot balance through CreditDebits (after the commit) or by
-- dropping it. A crash between the commit and that step leaves the hot balance wrong; so does a settlement
-- written straight to PostgreSQL while Redis was down, if its gateway dies before replaying it to Redis. Such
-- organizations are marked here in the writing transaction; a starting gateway drops their hot balances and
-- removes the marks it handled (by seq, so a mark set again meanwhile stays). Usage debits written from the
-- stream are already in Redis (settlement charged them first), so they mark nothing.
CREATE SEQUENCE hot_balance_stale_seq;
CREATE TABLE hot_balance_stale (
    org_id  BIGINT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL DEFAULT nextval('hot_balance_stale_seq')
);

CREATE FUNCTION hot_balance_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hot_balance_stale (org_id) VALUES (NEW.org_id)
    ON CONFLICT (org_id) DO UPDATE SET seq = nextval('hot_balance_stale_seq');
    RETURN NULL;
END $$;
CREATE TRIGGER hot_balance_mark AFTER INSERT ON credit_ledger
    FOR EACH ROW WHEN (NEW.idempotency_key NOT LIKE 'usage:%') EXECUTE FUNCTION hot_balance_mark();

-- ---------------------------------------------------------------------------------------------------------
-- 4. New partitions: indexes built before the partition is attached
-- ---------------------------------------------------------------------------------------------------------
-- ATTACH PARTITION builds the partition's copy of every index of usage unless an equivalent index exists. The
-- new table is invisible to every other session until it is attached, so building them first (a plain CREATE
-- INDEX, which cannot block anyone) keeps the attach itself short: it then only adopts the indexes.
CREATE OR REPLACE FUNCTION usage_ensure_partitions(months_ahead INTEGER DEFAULT 3) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    first_month TIMESTAMPTZ := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    lo          TIMESTAMPTZ;
    hi          TIMESTAMPTZ;
    part        TEXT;
    idx         TEXT;
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
        FOR idx IN SELECT substring(pg_get_indexdef(i.indexrelid) FROM ' USING .*')
                     FROM pg_index i WHERE i.indrelid = 'usage'::regclass LOOP
            EXECUTE format('CREATE INDEX ON %I %s', part, idx);
        END LOOP;
        EXECUTE format('ALTER TABLE usage ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
        created := created + 1;
    END LOOP;
    RETURN created;
END $$;
