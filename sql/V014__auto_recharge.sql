-- Auto-recharge and low-balance e-mails (issue 9): the card saved by a top-up, each organization's auto-recharge
-- settings and charges, and which low-balance thresholds have been e-mailed.

-- The card a top-up through Checkout saved for later (setup_future_usage = off_session), from the top-up's
-- payment_intent.succeeded event; the newest top-up's card replaces the previous one. Auto-recharge charges it.
CREATE TABLE billing_payment_methods (
    org_id             BIGINT      PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    payment_method_id  TEXT        NOT NULL,   -- pm_...
    customer_id        TEXT        NOT NULL,   -- cus_... it is attached to
    saved_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- When the balance after a settlement is below threshold_micros, charge amount_micros to the saved card.
CREATE TABLE auto_recharge_settings (
    org_id            BIGINT      PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    enabled           BOOLEAN     NOT NULL,
    threshold_micros  BIGINT      NOT NULL CHECK (threshold_micros >= 0),
    amount_micros     BIGINT      NOT NULL CHECK (amount_micros > 0),
    -- Why it was last turned off by a failed charge (null when an admin set it).
    disabled_reason   TEXT,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Each off-session charge. At most one is pending per organization (the partial unique index), whichever replica
-- starts it; credit comes only from the PaymentIntent's payment_intent.succeeded event.
--   status: pending | succeeded | failed | expired (pending for longer than an hour without an answer)
CREATE TABLE auto_recharge_attempts (
    id                 BIGSERIAL   PRIMARY KEY,
    org_id             BIGINT      NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    amount_micros      BIGINT      NOT NULL,
    status             TEXT        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'expired')),
    payment_intent_id  TEXT,
    failure_reason     TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at        TIMESTAMPTZ
);
CREATE UNIQUE INDEX auto_recharge_attempts_one_pending ON auto_recharge_attempts (org_id) WHERE status = 'pending';
CREATE INDEX auto_recharge_attempts_org_idx ON auto_recharge_attempts (org_id, created_at);

-- A row per low-balance threshold (BILLING_LOW_BALANCE_USD) the organization's balance went below and whose
-- e-mail was sent; deleted when a settlement sees the balance back above it, so the next crossing e-mails again.
CREATE TABLE low_balance_alerts (
    org_id            BIGINT      NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    threshold_micros  BIGINT      NOT NULL,
    sent_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, threshold_micros)
);
