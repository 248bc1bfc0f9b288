-- Organizations: invitations by e-mail, and at most one owner per organization.

-- The owner hands over with transfer-ownership (demote, then promote, in one transaction); never two at once.
CREATE UNIQUE INDEX memberships_one_owner_idx ON memberships (org_id) WHERE role = 'owner';

-- An e-mailed, single-use invitation to join an organization (only the SHA-256 of the token is stored).
-- At most one pending invitation per organization and address: inviting again replaces it.
CREATE TABLE invitations (
    id           BIGSERIAL   PRIMARY KEY,
    org_id       BIGINT      NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email        TEXT        NOT NULL,
    role         TEXT        NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash   TEXT        NOT NULL UNIQUE,
    invited_by   BIGINT      REFERENCES users(id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    accepted_at  TIMESTAMPTZ,
    accepted_by  BIGINT      REFERENCES users(id) ON DELETE SET NULL,
    revoked_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX invitations_pending_idx ON invitations (org_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
