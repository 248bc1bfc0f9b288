-- Accounts: users who sign in to the dashboard, their organizations and roles, sessions and e-mailed tokens.

-- E-mail addresses are stored lower-case (the application normalizes them), so the existing UNIQUE holds.
-- password_hash is an Argon2id PHC string; NULL for an account that only signs in through OAuth.
ALTER TABLE users
    ADD COLUMN name               TEXT        NOT NULL DEFAULT '',
    ADD COLUMN password_hash      TEXT,
    ADD COLUMN email_verified_at  TIMESTAMPTZ,
    ADD COLUMN is_admin           BOOLEAN     NOT NULL DEFAULT false,
    ADD COLUMN updated_at         TIMESTAMPTZ NOT NULL DEFAULT now();

-- A user's role in an organization. Every organization made through the API has exactly one owner.
CREATE TABLE memberships (
    org_id      BIGINT      NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id     BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT        NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- One session per sign-in. Its refresh tokens rotate on every use; presenting one that was already used means it
-- leaked, and the whole session (the "family" of tokens) is revoked.
CREATE TABLE sessions (
    id          BIGSERIAL   PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ,
    user_agent  TEXT        NOT NULL DEFAULT '',
    ip          TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Only a SHA-256 of each token is stored, never the token.
CREATE TABLE refresh_tokens (
    token_hash  TEXT        PRIMARY KEY,
    session_id  BIGINT      NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    used_at     TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Single-use e-mailed tokens: address verification and password reset (SHA-256 only, like refresh tokens).
CREATE TABLE email_tokens (
    token_hash  TEXT        PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     TEXT        NOT NULL CHECK (purpose IN ('verify', 'reset')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);
