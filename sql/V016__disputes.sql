-- Stripe disputes (chargebacks): one row per dispute. While a row has no closed_at its organization's API access
-- (/v1) is suspended; the key lookup (KeyStore) reads that with the key, so the hot path costs nothing more.
-- A row is created by whichever of charge.dispute.created / charge.dispute.closed arrives first, and a closed row
-- is never reopened by a late "created", so events out of order cannot leave an organization suspended.
--   status: Stripe's dispute status as last seen (warning_needs_response, needs_response, under_review, won,
--           lost, warning_closed, …)
CREATE TABLE stripe_disputes (
    id               TEXT        PRIMARY KEY,          -- dp_...
    org_id           BIGINT      NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    charge_id        TEXT,
    payment_intent   TEXT,
    amount_micros    BIGINT      NOT NULL,
    reason           TEXT,
    status           TEXT        NOT NULL,
    opened_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    closed_at        TIMESTAMPTZ,
    ledger_entry_id  BIGINT                            -- the debit of a lost dispute (no FK, as stripe_events)
);
CREATE INDEX stripe_disputes_open_idx ON stripe_disputes (org_id) WHERE closed_at IS NULL;
CREATE INDEX stripe_disputes_org_idx ON stripe_disputes (org_id, opened_at);

-- Reconciliation (billing reconcile) reads the money-moving events of a period.
CREATE INDEX stripe_events_received_money_idx ON stripe_events (received_at) WHERE ledger_entry_id IS NOT NULL;
