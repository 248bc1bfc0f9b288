-- Accounts linked to an OAuth provider (Google, GitHub, Facebook, Indeed): the provider's stable user id (subject)
-- names the account at sign-in; the e-mail is the one the provider gave when the link was made.
CREATE TABLE oauth_identities (
    provider    TEXT        NOT NULL,
    subject     TEXT        NOT NULL,
    user_id     BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email       TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oauth_identities_user_idx ON oauth_identities (user_id);
