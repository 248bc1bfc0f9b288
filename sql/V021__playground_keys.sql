-- Playground keys: short-lived, chat-only API keys the dashboard mints for a signed-in member, so the Playground
-- calls /v1/chat/completions through exactly the path (auth, limits, holds, metering, billing) every key takes,
-- and the browser never holds a long-lived key. They are api_keys rows like any other (usage names them
-- "Playground"), but the keys list hides them and they never fire key webhooks.
ALTER TABLE api_keys
    ADD COLUMN kind        TEXT   NOT NULL DEFAULT 'standard' CHECK (kind IN ('standard', 'playground')),
    ADD COLUMN created_by  BIGINT REFERENCES users(id) ON DELETE SET NULL,
    ADD COLUMN session_id  BIGINT REFERENCES sessions(id) ON DELETE SET NULL,
    ADD CONSTRAINT api_keys_playground_expires CHECK (kind = 'standard' OR expires_at IS NOT NULL);
CREATE INDEX api_keys_playground_idx ON api_keys (org_id, created_by) WHERE kind = 'playground';
CREATE INDEX api_keys_session_idx ON api_keys (session_id) WHERE session_id IS NOT NULL;

-- Ending a session (sign-out, a password reset, a reused refresh token) revokes the playground keys minted in it,
-- whichever code path ends it.
CREATE FUNCTION revoke_session_playground_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE api_keys SET status = 'revoked'
     WHERE session_id = NEW.id AND kind = 'playground' AND status <> 'revoked';
    RETURN NULL;
END $$;
CREATE TRIGGER sessions_revoke_playground_keys AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION revoke_session_playground_keys();

-- key.created / key.revoked are about the keys customers manage, not one minted each time a Playground opens.
DROP TRIGGER webhook_key_created ON api_keys;
DROP TRIGGER webhook_key_revoked ON api_keys;
CREATE TRIGGER webhook_key_created AFTER INSERT ON api_keys
    FOR EACH ROW WHEN (NEW.kind = 'standard') EXECUTE FUNCTION webhook_key_changed();
CREATE TRIGGER webhook_key_revoked AFTER UPDATE OF status ON api_keys
    FOR EACH ROW WHEN (NEW.kind = 'standard' AND NEW.status = 'revoked' AND OLD.status <> 'revoked')
    EXECUTE FUNCTION webhook_key_changed();
