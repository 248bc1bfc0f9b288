-- Status subscribers' e-mails through an outbox (issue 10): a row per (incident update, confirmed subscriber) is
-- written in the SAME transaction as the incident update it announces, so a replica dying or SMTP being down loses
-- no e-mail. Every replica's IncidentMailer claims due rows as a lease (next_attempt_at moved past the lease, FOR
-- UPDATE SKIP LOCKED), sends one, and deletes it; a failed send is retried with back-off. Unsubscribing deletes the
-- subscriber's waiting e-mails (ON DELETE CASCADE). The unsubscribe link is added at send time (it is an HMAC under
-- SECRETS_KEY, never stored).
CREATE TABLE status_mail_outbox (
    id               BIGSERIAL   PRIMARY KEY,
    update_id        BIGINT      NOT NULL REFERENCES incident_updates(id) ON DELETE CASCADE,
    subscriber_id    BIGINT      NOT NULL REFERENCES status_subscribers(id) ON DELETE CASCADE,
    subject          TEXT        NOT NULL,
    body             TEXT        NOT NULL,
    attempts         INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    leased_by        TEXT,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (update_id, subscriber_id)
);
CREATE INDEX status_mail_outbox_due_idx ON status_mail_outbox (next_attempt_at);
CREATE INDEX status_mail_outbox_subscriber_idx ON status_mail_outbox (subscriber_id);
