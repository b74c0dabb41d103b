-- 0103_access: API tokens and the audit log (catalog.AccessStore). SQLite's
-- types; PostgreSQL's twin is 0103_access.postgres.sql.

-- One row per live token; revoking deletes it. hash is the hex SHA-256 of
-- the secret (never the secret); name is unique, since the audit log names
-- the actor by it.
CREATE TABLE access_token (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'approver', 'viewer')),
    hash       TEXT NOT NULL UNIQUE,
    created    TEXT NOT NULL,
    created_by TEXT NOT NULL
);

-- One row per change made through the admin API. id grows (AUTOINCREMENT:
-- never handed out twice); before_json and after_json are JSON text or NULL.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    remote_addr TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
