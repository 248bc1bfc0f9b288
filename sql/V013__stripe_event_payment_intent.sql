-- The PaymentIntent behind each money-moving Stripe event (a top-up's checkout session, an auto-recharge, a
-- refunded charge), so reconciliation can match Stripe's payments and refunds with the ledger rows they caused.
ALTER TABLE stripe_events ADD COLUMN payment_intent TEXT;
CREATE INDEX stripe_events_payment_intent_idx ON stripe_events (payment_intent) WHERE payment_intent IS NOT NULL;
