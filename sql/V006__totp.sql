-- Two-factor authentication with TOTP (RFC 6238): one authenticator per user, recovery codes, sign-in challenges.

-- The user's TOTP key, AES-256-GCM encrypted with SECRETS_KEY: a 12-byte nonce followed by ciphertext and tag,
-- bound to the user id (associated data). confirmed_at is NULL while enrollment is pending; 2FA is on once it is
-- set. last_step is the newest 30-second step whose code was accepted: a code is never accepted twice.
CREATE TABLE totp_secrets (
    user_id       BIGINT      PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_enc    BYTEA       NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    confirmed_at  TIMESTAMPTZ,
    last_step     BIGINT
);

-- Single-use recovery codes, as HMAC-SHA256 keyed with SECRETS_KEY (never the code itself).
CREATE TABLE totp_recovery_codes (
    user_id     BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash   TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    used_at     TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

-- A password accepted for a 2FA account: the second step must follow within minutes (SHA-256 of the token only).
CREATE TABLE two_factor_challenges (
    token_hash  TEXT        PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    failures    INT         NOT NULL DEFAULT 0
);
CREATE INDEX two_factor_challenges_user_idx ON two_factor_challenges (user_id);
