-- Contact Us (issue 11): messages from the web app's Contact Us form. Stored first (the admin console lists them),
-- then e-mailed to the operator (CONTACT_EMAIL); mailed_at stays NULL when that e-mail could not be sent.
CREATE TABLE contact_messages (
    id             BIGSERIAL   PRIMARY KEY,
    name           TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email          TEXT        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    topic          TEXT        NOT NULL CHECK (topic IN ('general', 'billing', 'technical', 'privacy', 'other')),
    message        TEXT        NOT NULL CHECK (length(message) BETWEEN 1 AND 5000),
    client_address TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    mailed_at      TIMESTAMPTZ
);
