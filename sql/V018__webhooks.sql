-- Webhooks (issue 10): per-organization endpoints, the outbox that the facts' own triggers fill in the SAME
-- transaction as the fact (so an event is never lost: no fact without its event, no event without its fact), and
-- the deliveries (Standard Webhooks messages, one webhook-id each) that the workers of every replica send.
--
--   fact row (usage, credit_ledger, api_keys, stripe_events)
--     --trigger, same transaction--> webhook_outbox (one row per subscribed endpoint)
--     --batcher (any replica, FOR UPDATE SKIP LOCKED)--> webhook_deliveries (payload and webhook-id fixed here)
--     --delivery worker (any replica, leased)--> the endpoint's URL
--
-- Triggers write outbox rows only for an organization with an enabled endpoint subscribed to the event type, so
-- organizations without webhooks pay one indexed lookup per statement (usage) or per row (the rarer facts).

CREATE TABLE webhook_endpoints (
    id                   BIGSERIAL   PRIMARY KEY,
    org_id               BIGINT      NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url                  TEXT        NOT NULL,
    description          TEXT        NOT NULL DEFAULT '',
    events               TEXT[]      NOT NULL,
    enabled              BOOLEAN     NOT NULL DEFAULT true,
    secret               BYTEA       NOT NULL,               -- the whsec_ secret, sealed by SecretBox
    previous_secret      BYTEA,                              -- the secret before the last rotation: still signs
    previous_expires_at  TIMESTAMPTZ,                        -- ... until then
    failing_since        TIMESTAMPTZ,                        -- first failed attempt since the last success
    disabled_reason      TEXT,                               -- why the gateway disabled it (NULL: by a person)
    usage_batched_at     TIMESTAMPTZ NOT NULL DEFAULT '-infinity', -- last partial usage.recorded batch
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_org_idx ON webhook_endpoints (org_id) WHERE enabled;

-- Events waiting to be put into deliveries. A usage.recorded row is a GROUP: the events of one usage statement for
-- one endpoint (data = {"events": [...]}, at most 500, event_count of them), so the usage path writes one outbox row
-- per statement and endpoint rather than one per request. No foreign key, for the same reason; the batcher drops
-- rows of deleted endpoints.
CREATE TABLE webhook_outbox (
    id           BIGSERIAL   PRIMARY KEY,
    endpoint_id  BIGINT      NOT NULL,
    type         TEXT        NOT NULL,
    data         JSONB       NOT NULL,
    event_count  INTEGER     NOT NULL DEFAULT 1,
    occurred_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One message per row: webhook-id, body and the state of its delivery. next_attempt_at doubles as the lease: a
-- worker that claims a row moves next_attempt_at past the lease, so if its replica dies the row is simply due again
-- when the lease ends and another replica sends it with the SAME message_id (receivers dedupe on it).
CREATE TABLE webhook_deliveries (
    id               BIGSERIAL   PRIMARY KEY,
    message_id       TEXT        NOT NULL UNIQUE
                                 DEFAULT 'msg_' || substr(md5(random()::text || clock_timestamp()::text), 1, 24),
    endpoint_id      BIGINT      NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    type             TEXT        NOT NULL,
    event_count      INTEGER     NOT NULL DEFAULT 1,
    payload          TEXT        NOT NULL,
    status           TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    retry_until      TIMESTAMPTZ NOT NULL,               -- after this, a failed attempt fails the message
    leased_by        TEXT,
    last_attempt_at  TIMESTAMPTZ,
    last_status      INTEGER,
    last_latency_ms  INTEGER,
    last_response    TEXT,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at) WHERE status <> 'pending';

-- The one way to emit an event for an organization, inside the caller's transaction. Hooks for the features that
-- land later call it in the transaction that records their fact:
--   credits.low: SELECT webhook_emit(org_id, 'credits.low', jsonb_build_object('balance_micros', ..., ...));
-- Every *_micros number in data gets a *_usd string next to it in the delivered JSON. Returns the rows written.
CREATE FUNCTION webhook_emit(p_org BIGINT, p_type TEXT, p_data JSONB, p_at TIMESTAMPTZ DEFAULT now())
RETURNS INTEGER LANGUAGE sql AS $$
    WITH written AS (
        INSERT INTO webhook_outbox (endpoint_id, type, data, occurred_at)
        SELECT id, p_type, p_data, p_at FROM webhook_endpoints
        WHERE org_id = p_org AND enabled AND p_type = ANY (events)
        RETURNING 1)
    SELECT count(*)::int FROM written
$$;

-- For events about the service rather than one organization (incident.created/updated/resolved: the status
-- page's incident tables call it from their own trigger or statement): every subscribed endpoint gets it.
CREATE FUNCTION webhook_emit_all(p_type TEXT, p_data JSONB, p_at TIMESTAMPTZ DEFAULT now())
RETURNS INTEGER LANGUAGE sql AS $$
    WITH written AS (
        INSERT INTO webhook_outbox (endpoint_id, type, data, occurred_at)
        SELECT id, p_type, p_data, p_at FROM webhook_endpoints WHERE enabled AND p_type = ANY (events)
        RETURNING 1)
    SELECT count(*)::int FROM written
$$;

-- usage.recorded: a statement-level trigger on the partitioned parent, whose transition table holds the rows of
-- every partition the statement wrote (PostgreSQL 10+). One join per usage batch instead of a function call per row,
-- and one outbox row per endpoint and 500 events; with no subscriber anywhere it stops at one lookup. The events are
-- complete, cost_usd included, because the batcher pastes them into messages as text instead of parsing them. (Rows moved between partitions by
-- usage_ensure_partitions go straight into a table not yet attached, so they fire nothing.)
CREATE FUNCTION webhook_usage_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled AND 'usage.recorded' = ANY (events)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_outbox (endpoint_id, type, data, event_count, occurred_at)
    SELECT endpoint_id, 'usage.recorded', jsonb_build_object('events', jsonb_agg(event ORDER BY n)), count(*),
           max(created_at)
    FROM (SELECT e.id AS endpoint_id, u.created_at,
                 row_number() OVER (PARTITION BY e.id ORDER BY u.created_at, u.request_id) AS n,
                 jsonb_build_object('request_id', u.request_id, 'key_id', k.public_id, 'model', u.model,
                              'endpoint', u.endpoint, 'prompt_tokens', u.prompt_tokens,
                              'completion_tokens', u.completion_tokens, 'cached_tokens', u.cached_tokens,
                              'cost_micros', u.cost_micros,
                              'cost_usd', (u.cost_micros::numeric / 1000000)::numeric(20, 6)::text,
                              'status', u.status, 'estimated', u.estimated,
                              'latency_ms', u.latency_ms, 'created_at', u.created_at) AS event
          FROM added u
          JOIN webhook_endpoints e ON e.org_id = u.org_id AND e.enabled AND 'usage.recorded' = ANY (e.events)
          LEFT JOIN api_keys k ON k.id = u.key_id) per_event
    GROUP BY endpoint_id, (n - 1) / 500;
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_usage_recorded AFTER INSERT ON usage
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION webhook_usage_recorded();

-- credits.added: every credit row (Stripe top-ups, admin and CLI credits), with the balance it leaves.
CREATE FUNCTION webhook_credits_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM webhook_endpoints
               WHERE org_id = NEW.org_id AND enabled AND 'credits.added' = ANY (events)) THEN
        PERFORM webhook_emit(NEW.org_id, 'credits.added', jsonb_build_object(
            'entry_id', NEW.id, 'amount_micros', NEW.amount_micros, 'reason', NEW.reason,
            'balance_micros', (SELECT COALESCE(SUM(amount_micros), 0) FROM credit_ledger WHERE org_id = NEW.org_id),
            'created_at', NEW.created_at), NEW.created_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_credits_added AFTER INSERT ON credit_ledger
    FOR EACH ROW WHEN (NEW.kind = 'credit' AND NEW.amount_micros > 0) EXECUTE FUNCTION webhook_credits_added();

-- key.created and key.revoked, whoever makes the change (API, CLI, admin).
CREATE FUNCTION webhook_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_emit(NEW.org_id, CASE WHEN TG_OP = 'INSERT' THEN 'key.created' ELSE 'key.revoked' END,
        jsonb_build_object('key_id', NEW.public_id, 'name', NEW.name, 'status', NEW.status,
                           'expires_at', NEW.expires_at, 'created_at', NEW.created_at));
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_key_created AFTER INSERT ON api_keys
    FOR EACH ROW EXECUTE FUNCTION webhook_key_changed();
CREATE TRIGGER webhook_key_revoked AFTER UPDATE OF status ON api_keys
    FOR EACH ROW WHEN (NEW.status = 'revoked' AND OLD.status <> 'revoked') EXECUTE FUNCTION webhook_key_changed();

-- payment.succeeded / payment.failed from the Stripe events the billing webhook stored (credited / payment_failed).
CREATE FUNCTION webhook_payment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_emit(NEW.org_id,
        CASE WHEN NEW.outcome = 'credited' THEN 'payment.succeeded' ELSE 'payment.failed' END,
        jsonb_build_object('stripe_event_id', NEW.id, 'stripe_event_type', NEW.type, 'object_id', NEW.object_id,
                           'payment_intent', NEW.payment_intent, 'amount_micros', NEW.amount_micros),
        NEW.received_at);
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_payment AFTER INSERT ON stripe_events
    FOR EACH ROW WHEN (NEW.org_id IS NOT NULL AND NEW.outcome IN ('credited', 'payment_failed'))
    EXECUTE FUNCTION webhook_payment();
