-- A limit of 0 would refuse every request with a misleading 'request too large'; suspending an organization is
-- a different operation. Limits are therefore NULL (unlimited) or at least 1, as the CLI and the gateway assume.

ALTER TABLE plans
    DROP CONSTRAINT plans_rpm_check,
    ADD CONSTRAINT plans_rpm_check CHECK (rpm >= 1),
    DROP CONSTRAINT plans_rph_check,
    ADD CONSTRAINT plans_rph_check CHECK (rph >= 1),
    DROP CONSTRAINT plans_rpd_check,
    ADD CONSTRAINT plans_rpd_check CHECK (rpd >= 1),
    DROP CONSTRAINT plans_tpm_check,
    ADD CONSTRAINT plans_tpm_check CHECK (tpm >= 1),
    DROP CONSTRAINT plans_tph_check,
    ADD CONSTRAINT plans_tph_check CHECK (tph >= 1),
    DROP CONSTRAINT plans_tpd_check,
    ADD CONSTRAINT plans_tpd_check CHECK (tpd >= 1),
    DROP CONSTRAINT plans_concurrency_check,
    ADD CONSTRAINT plans_concurrency_check CHECK (concurrency >= 1);

ALTER TABLE organizations
    DROP CONSTRAINT organizations_rpm_check,
    ADD CONSTRAINT organizations_rpm_check CHECK (rpm >= 1),
    DROP CONSTRAINT organizations_rph_check,
    ADD CONSTRAINT organizations_rph_check CHECK (rph >= 1),
    DROP CONSTRAINT organizations_rpd_check,
    ADD CONSTRAINT organizations_rpd_check CHECK (rpd >= 1),
    DROP CONSTRAINT organizations_tpm_check,
    ADD CONSTRAINT organizations_tpm_check CHECK (tpm >= 1),
    DROP CONSTRAINT organizations_tph_check,
    ADD CONSTRAINT organizations_tph_check CHECK (tph >= 1),
    DROP CONSTRAINT organizations_tpd_check,
    ADD CONSTRAINT organizations_tpd_check CHECK (tpd >= 1),
    DROP CONSTRAINT organizations_concurrency_check,
    ADD CONSTRAINT organizations_concurrency_check CHECK (concurrency >= 1);

ALTER TABLE api_keys
    DROP CONSTRAINT api_keys_rpm_check,
    ADD CONSTRAINT api_keys_rpm_check CHECK (rpm >= 1),
    DROP CONSTRAINT api_keys_rph_check,
    ADD CONSTRAINT api_keys_rph_check CHECK (rph >= 1),
    DROP CONSTRAINT api_keys_rpd_check,
    ADD CONSTRAINT api_keys_rpd_check CHECK (rpd >= 1),
    DROP CONSTRAINT api_keys_tpm_check,
    ADD CONSTRAINT api_keys_tpm_check CHECK (tpm >= 1),
    DROP CONSTRAINT api_keys_tph_check,
    ADD CONSTRAINT api_keys_tph_check CHECK (tph >= 1),
    DROP CONSTRAINT api_keys_tpd_check,
    ADD CONSTRAINT api_keys_tpd_check CHECK (tpd >= 1),
    DROP CONSTRAINT api_keys_concurrency_check,
    ADD CONSTRAINT api_keys_concurrency_check CHECK (concurrency >= 1);
