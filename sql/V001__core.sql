-- Core catalogue: organizations, users, API keys, models and the llama.cpp backends serving them.
-- Money is integer micro-USD (1 USD = 1,000,000); prices are micro-USD per 1M tokens.

CREATE TABLE organizations (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT        NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Minimal until the accounts issue adds sign-up, sessions and roles.
CREATE TABLE users (
    id          BIGSERIAL PRIMARY KEY,
    email       TEXT        NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id              BIGSERIAL PRIMARY KEY,
    public_id       TEXT        NOT NULL UNIQUE,          -- shown and logged: the "abc123" in gpt_live_abc123_<secret>
    secret_hash     TEXT        NOT NULL,                 -- HMAC-SHA256(pepper, secret), hex
    name            TEXT        NOT NULL DEFAULT '',
    org_id          BIGINT      NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    status          TEXT        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'revoked')),
    expires_at      TIMESTAMPTZ,
    last_used_at    TIMESTAMPTZ,
    allowed_models  TEXT[],                               -- NULL: every active model
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id);

CREATE TABLE models (
    id                        TEXT PRIMARY KEY,           -- API id, e.g. gpt-fast
    display_name              TEXT    NOT NULL,
    kind                      TEXT    NOT NULL CHECK (kind IN ('chat', 'embedding')),
    input_price_micros_per_m  BIGINT  NOT NULL CHECK (input_price_micros_per_m >= 0),
    output_price_micros_per_m BIGINT  NOT NULL CHECK (output_price_micros_per_m >= 0),
    default_max_tokens        INTEGER NOT NULL CHECK (default_max_tokens > 0),
    max_max_tokens            INTEGER NOT NULL CHECK (max_max_tokens >= default_max_tokens),
    context_length            INTEGER NOT NULL CHECK (context_length > 0),
    active                    BOOLEAN NOT NULL DEFAULT true,
    created_at                TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE backends (
    id          BIGSERIAL PRIMARY KEY,
    model_id    TEXT        NOT NULL REFERENCES models(id),
    base_url    TEXT        NOT NULL,
    api_key     TEXT,                                     -- for llama-server started with --api-key
    slots       INTEGER     NOT NULL DEFAULT 4 CHECK (slots > 0),
    weight      INTEGER     NOT NULL DEFAULT 1 CHECK (weight > 0),
    state       TEXT        NOT NULL DEFAULT 'enabled' CHECK (state IN ('enabled', 'draining')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (model_id, base_url)
);

-- Gateways LISTEN on this channel so that backend add/drain and model changes apply without restart.
CREATE FUNCTION notify_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gptapi_catalog', TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE TRIGGER backends_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON backends
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed();
CREATE TRIGGER models_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON models
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed();

INSERT INTO models (id, display_name, kind, input_price_micros_per_m, output_price_micros_per_m,
                    default_max_tokens, max_max_tokens, context_length) VALUES
    ('gpt-fast', 'gpt-oss-20B',              'chat',      250000,  500000, 1024, 16384, 131072),
    ('gpt-full', 'gpt-oss-120B',             'chat',      500000, 1000000, 1024, 16384, 131072),
    ('embed',    'snowflake-arctic-embed2',  'embedding',  50000,       0,    1,     1,   8192);
