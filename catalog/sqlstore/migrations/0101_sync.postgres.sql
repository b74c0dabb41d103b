-- 0101_sync: what synchronization with an upstream server keeps
-- (catalog.SyncStore): the admin's settings, the state the last run left,
-- the history of runs (whose running row is the lease), where payload files
-- come from, and the change sequence of the import that last wrote each
-- revision. PostgreSQL's types; SQLite's twin is 0101_sync.sqlite.sql.

-- The admin's synchronization settings: one row. settings is the JSON of
-- catalog.SyncSettings (its JSON tags are its declared persisted form)
-- without ChangedAt, which is changed_at; NULL before any were saved.
CREATE TABLE sync_settings (
    id         integer PRIMARY KEY CHECK (id = 1),
    settings   text,
    changed_at timestamptz
);
INSERT INTO sync_settings (id) VALUES (1);

-- What the last synchronization left (anchors, upstream configuration):
-- one row. state is the JSON of catalog.SyncState (its JSON tags are its
-- declared persisted form), NULL before any was saved. BeginSyncRun also
-- locks this row, on engines with row locks, so that runs begin one at a
-- time.
CREATE TABLE sync_state (
    id    integer PRIMARY KEY CHECK (id = 1),
    state text
);
INSERT INTO sync_state (id) VALUES (1);

-- One row per synchronization run, running or finished. id grows
-- (an identity: never handed out twice). At most one row is running
-- (the partial unique index): it is the lease, held while its heartbeat
-- is younger than the lease BeginSyncRun is given. finished is NULL while
-- the run is running.
CREATE TABLE sync_run (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger     text        NOT NULL,
    holder      text        NOT NULL,
    state       text        NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
    started     timestamptz NOT NULL,
    heartbeat   timestamptz NOT NULL,
    finished    timestamptz,
    phase       text        NOT NULL,
    done        integer     NOT NULL,
    total       integer     NOT NULL,
    new         integer     NOT NULL,
    revised     integer     NOT NULL,
    expired     integer     NOT NULL,
    files       integer     NOT NULL,
    files_total integer     NOT NULL,
    bytes       bigint      NOT NULL,
    bytes_total bigint      NOT NULL,
    error       text        NOT NULL
);
CREATE UNIQUE INDEX sync_run_one_running ON sync_run (state) WHERE state = 'running';

-- Where a payload file can be fetched from outside this server, as an
-- upstream told (catalog.FileSource), by the file's SHA-1. mu_url is the
-- Microsoft Update URL, NULL when not known; decryption_key likewise.
CREATE TABLE file_source (
    sha1           bytea PRIMARY KEY CHECK (length(sha1) = 20),
    mu_url         text,
    decryption_key bytea
);

-- The change sequence of the import that last wrote the revision (new, or
-- rewritten with changed content): catalog.Summary.Changed. Revisions
-- imported before this version have 0.
ALTER TABLE revision ADD COLUMN changed_seq bigint NOT NULL DEFAULT 0;
