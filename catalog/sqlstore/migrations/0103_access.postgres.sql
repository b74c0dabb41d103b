-- 0103_access: API tokens and the audit log (catalog.AccessStore).
-- PostgreSQL's types; SQLite's twin is 0103_access.sqlite.sql.

-- One row per live token; revoking deletes it. hash is the hex SHA-256 of
-- the secret (never the secret); name is unique, since the audit log names
-- the actor by it.
CREATE TABLE access_token (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    role       text        NOT NULL CHECK (role IN ('admin', 'approver', 'viewer')),
    hash       text        NOT NULL UNIQUE,
    created    timestamptz NOT NULL,
    created_by text        NOT NULL
);

-- One row per change made through the admin API. id grows (an identity:
-- never handed out twice); before_json and after_json are JSON text or NULL.
CREATE TABLE audit_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    target      text        NOT NULL,
    before_json text,
    after_json  text,
    remote_addr text        NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
