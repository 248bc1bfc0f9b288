-- Platform administration: an append-only audit log of every change made through the admin API.
-- Admins are users with users.is_admin = true (set with the CLI: admin grant EMAIL / admin revoke EMAIL).

-- admin_user_id is the admin who acted, NULL for the operator CLI (admin grant / admin revoke). It deliberately has
-- no foreign key: the log must outlive the accounts it names, and removing a user must neither cascade into it nor
-- be blocked by it.
CREATE TABLE admin_audit (
    id             BIGSERIAL   PRIMARY KEY,
    at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    admin_user_id  BIGINT,
    action         TEXT        NOT NULL,
    target_type    TEXT        NOT NULL,
    target_id      TEXT,
    details        JSONB       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX admin_audit_at_idx ON admin_audit (at, id);

-- Append-only: PostgreSQL itself refuses to change or remove a row, whoever asks.
CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'admin_audit is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER admin_audit_no_update_delete BEFORE UPDATE OR DELETE ON admin_audit
    FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only();
CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
    FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_append_only();

-- The admin monitor reads today's requests and the latest ones across all organizations.
CREATE INDEX usage_created_idx ON usage (created_at);
