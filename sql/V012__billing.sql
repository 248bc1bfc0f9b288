-- Stripe billing, first slice: one Stripe customer per organization, and every webhook event received.

-- Created on the organization's first checkout; one per organization, never reassigned.
CREATE TABLE stripe_customers (
    org_id       BIGINT      PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    customer_id  TEXT        NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Each verified webhook event, once: the row is inserted in the SAME transaction as the ledger row the event
-- causes, so an event is either processed with its effect or not at all, and a redelivery (or a concurrent
-- delivery) finds its id here and changes nothing. Events that cannot be applied (an organization that does not
-- exist) are kept with flagged = true and their payload, for an operator to resolve; nothing is lost.
--   outcome: credited | debited | payment_failed | unknown_org | duplicate_payment | ignored
CREATE TABLE stripe_events (
    id               TEXT        PRIMARY KEY,          -- evt_...
    type             TEXT        NOT NULL,
    org_id           BIGINT      REFERENCES organizations(id) ON DELETE SET NULL,
    object_id        TEXT,                             -- cs_... / ch_... the event is about
    outcome          TEXT        NOT NULL,
    amount_micros    BIGINT,
    ledger_entry_id  BIGINT,                           -- the credit_ledger row it wrote (no FK: the ledger is
                                                       -- append-only, and tests truncate it alone)
    flagged          BOOLEAN     NOT NULL DEFAULT false,
    payload          TEXT,                             -- kept for flagged events only
    received_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX stripe_events_flagged_idx ON stripe_events (received_at) WHERE flagged;
CREATE INDEX stripe_events_org_idx ON stripe_events (org_id, received_at);
CREATE INDEX stripe_events_object_idx ON stripe_events (object_id);
