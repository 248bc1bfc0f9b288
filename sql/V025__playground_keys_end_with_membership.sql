-- A playground key is the minting member's (V021). A member who is removed from the organization, or leaves it,
-- must not keep spending its credit with one until it expires: deleting the membership revokes the playground
-- keys that member minted in that organization, whichever code path deletes it (removal, leaving, a deleted user).
CREATE FUNCTION revoke_member_playground_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE api_keys SET status = 'revoked'
     WHERE org_id = OLD.org_id AND created_by = OLD.user_id AND kind = 'playground' AND status <> 'revoked';
    RETURN NULL;
END $$;
CREATE TRIGGER memberships_revoke_playground_keys AFTER DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION revoke_member_playground_keys();
