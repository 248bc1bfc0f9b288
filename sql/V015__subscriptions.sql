-- Stripe billing: plans sold as monthly subscriptions, and the subscriptions themselves.

-- What a plan costs and includes, besides its limits (V002). Money is integer micro-USD. The 'default' plan is the
-- free fallback every organization without a live subscription is on: it is never for sale.
--   monthly_price_micros     what a month costs (whole cents: Stripe charges cents); shown on the pricing page and,
--                            without stripe_price_id, the amount of the Checkout line item (price_data)
--   included_credit_micros   credit granted once per paid subscription invoice (create and monthly cycle)
--   for_sale                 listed by GET /api/plans and accepted by the subscription checkout
--   stripe_price_id          a recurring monthly Price managed in Stripe (price_...); NULL: Checkout sends price_data
ALTER TABLE plans
    ADD COLUMN description             TEXT        NOT NULL DEFAULT '',
    ADD COLUMN monthly_price_micros    BIGINT      NOT NULL DEFAULT 0
        CHECK (monthly_price_micros >= 0 AND monthly_price_micros % 10000 = 0),
    ADD COLUMN included_credit_micros  BIGINT      NOT NULL DEFAULT 0 CHECK (included_credit_micros >= 0),
    ADD COLUMN for_sale                BOOLEAN     NOT NULL DEFAULT false,
    ADD COLUMN stripe_price_id         TEXT UNIQUE,
    ADD COLUMN updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD CONSTRAINT plans_default_not_for_sale CHECK (id <> 'default' OR NOT for_sale),
    ADD CONSTRAINT plans_for_sale_priced CHECK (NOT for_sale OR monthly_price_micros > 0);

UPDATE plans SET description = 'Free: pay as you go with prepaid credit.' WHERE id = 'default';

-- One row per Stripe subscription, as of the newest event applied for it (event_created, event_rank): an older
-- event arriving late changes nothing. The organization's plan follows its live subscriptions (see
-- SubscriptionEvents); the row records which plan the subscription is for, so invoice.paid knows what to grant.
CREATE TABLE stripe_subscriptions (
    id                    TEXT        PRIMARY KEY,                 -- sub_...
    org_id                BIGINT      NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    plan_id               TEXT        NOT NULL REFERENCES plans(id),
    status                TEXT        NOT NULL,                    -- Stripe's: active, past_due, canceled...
    current_period_end    TIMESTAMPTZ,
    cancel_at_period_end  BOOLEAN     NOT NULL DEFAULT false,
    event_created         BIGINT      NOT NULL,                    -- `created` (Unix s) of the event applied
    event_rank            SMALLINT    NOT NULL,                    -- created 0 < updated 1 < deleted 2, same second
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX stripe_subscriptions_org_idx ON stripe_subscriptions (org_id);
