-- 0101_sync: what synchronization with an upstream server keeps
-- (catalog.SyncStore): the admin's settings, the state the last run left,
-- the history of runs (whose running row is the lease), where payload files
-- come from, and the change sequence of the import that last wrote each
-- revision. SQLite's types; PostgreSQL's twin is 0101_sync.postgres.sql.

-- The admin's synchronization settings: one row. settings is the JSON of
-- catalog.SyncSettings (its JSON tags are its declared persisted form)
-- without ChangedAt, which is changed_at; NULL before any were saved.
CREATE TABLE sync_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    settings   TEXT,
    changed_at TEXT
);
INSERT INTO sync_settings (id) VALUES (1);

-- What the last synchronization left (anchors, upstream configuration):
-- one row. state is the JSON of catalog.SyncState (its JSON tags are its
-- declared persisted form), NULL before any was saved. BeginSyncRun also
-- locks this row, on engines with row locks, so that runs begin one at a
-- time.
CREATE TABLE sync_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    state TEXT
);
INSERT INTO sync_state (id) VALUES (1);

-- One row per synchronization run, running or finished. id grows
-- (AUTOINCREMENT: never handed out twice). At most one row is running
-- (the partial unique index): it is the lease, held while its heartbeat
-- is younger than the lease BeginSyncRun is given. Times as everywhere
-- (UTC text); finished is NULL while the run is running.
CREATE TABLE sync_run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger     TEXT    NOT NULL,
    holder      TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
    started     TEXT    NOT NULL,
    heartbeat   TEXT    NOT NULL,
    finished    TEXT,
    phase       TEXT    NOT NULL,
    done        INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    new         INTEGER NOT NULL,
    revised     INTEGER NOT NULL,
    expired     INTEGER NOT NULL,
    files       INTEGER NOT NULL,
    files_total INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    bytes_total INTEGER NOT NULL,
    error       TEXT    NOT NULL
);
CREATE UNIQUE INDEX sync_run_one_running ON sync_run (state) WHERE state = 'running';

-- Where a payload file can be fetched from outside this server, as an
-- upstream told (catalog.FileSource), by the file's SHA-1. mu_url is the
-- Microsoft Update URL, NULL when not known; decryption_key likewise.
CREATE TABLE file_source (
    sha1           BLOB PRIMARY KEY CHECK (length(sha1) = 20),
    mu_url         TEXT,
    decryption_key BLOB
);

-- The change sequence of the import that last wrote the revision (new, or
-- rewritten with changed content): catalog.Summary.Changed. Revisions
-- imported before this version have 0.
ALTER TABLE revision ADD COLUMN changed_seq INTEGER NOT NULL DEFAULT 0;
