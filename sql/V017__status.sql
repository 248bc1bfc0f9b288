-- Status page (issue 10): uptime history, incidents and their updates, and e-mail subscribers.

-- Uptime history: ONE row per (component, minute) for the whole cluster. Every replica upserts its observations
-- of the minute: level keeps the worst any replica saw (GREATEST), requests and errors are the replicas' own
-- counts of proxied requests and 5xx answers since their last flush, ADDED (never overwritten), so the row holds
-- the cluster's traffic. The level of a minute as shown on the page also takes the error share into account.
--   component: service:chat | service:embeddings | service:api | service:billing | model:<id> | backend:<id>
--   level: 0 operational, 1 degraded_performance, 2 partial_outage, 3 major_outage
CREATE TABLE status_minutes (
    component  TEXT        NOT NULL,
    minute     TIMESTAMPTZ NOT NULL,
    level      SMALLINT    NOT NULL CHECK (level BETWEEN 0 AND 3),
    requests   BIGINT      NOT NULL DEFAULT 0 CHECK (requests >= 0),
    errors     BIGINT      NOT NULL DEFAULT 0 CHECK (errors >= 0),
    PRIMARY KEY (component, minute)
);
CREATE INDEX status_minutes_minute_idx ON status_minutes (minute);

CREATE TABLE incidents (
    id            BIGSERIAL   PRIMARY KEY,
    title         TEXT        NOT NULL,
    severity      TEXT        NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    status        TEXT        NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    services      TEXT[]      NOT NULL DEFAULT '{}',
    models        TEXT[]      NOT NULL DEFAULT '{}',
    -- What an automatic incident is about ('model:gpt-fast', 'usage_writer'); NULL for incidents opened by people.
    auto_subject  TEXT,
    started_at    TIMESTAMPTZ NOT NULL,
    resolved_at   TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by    BIGINT      REFERENCES users(id) ON DELETE SET NULL,
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK (resolved_at IS NULL OR resolved_at >= started_at)
);
-- At most one OPEN automatic incident per subject, whatever the number of replicas that detect the outage: the
-- second INSERT ... ON CONFLICT DO NOTHING of a concurrent replica inserts nothing.
CREATE UNIQUE INDEX incidents_one_open_auto_idx ON incidents (auto_subject)
    WHERE auto_subject IS NOT NULL AND resolved_at IS NULL;
CREATE INDEX incidents_started_idx ON incidents (started_at DESC, id DESC);
CREATE INDEX incidents_open_idx ON incidents (id) WHERE resolved_at IS NULL;

CREATE TABLE incident_updates (
    id           BIGSERIAL   PRIMARY KEY,
    incident_id  BIGINT      NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    status       TEXT        NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    message      TEXT        NOT NULL,
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by   BIGINT      REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX incident_updates_incident_idx ON incident_updates (incident_id, at, id);

-- E-mail subscribers of the status page (double opt-in). The confirmation token is stored as SHA-256 only; the
-- unsubscribe token is never stored: it is an HMAC of the subscriber id under a key derived from SECRETS_KEY.
CREATE TABLE status_subscribers (
    id                  BIGSERIAL   PRIMARY KEY,
    email               TEXT        NOT NULL UNIQUE,   -- lower case
    confirm_token_hash  TEXT        UNIQUE,
    confirm_expires_at  TIMESTAMPTZ,
    confirmed_at        TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX status_subscribers_confirmed_idx ON status_subscribers (id) WHERE confirmed_at IS NOT NULL;
