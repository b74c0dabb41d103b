-- 0001_init: the catalog schema.
--
-- Tables follow the proposed schema of shared/protocol/MS-WSUSSS.md section 8
-- where it fits the catalog.Store contract. Conventions, kept portable so the
-- PostgreSQL store can mirror them:
--   * UUIDs are lower-case canonical text (36 characters);
--   * times are UTC text "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (fixed width, so
--     they sort as text), NULL for the zero time;
--   * booleans are 0/1 integers;
--   * string lists are JSON arrays of strings, NULL when empty.

-- The installation identity: one row, created on first use.
CREATE TABLE server_info (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    server_id      TEXT NOT NULL,
    config_changed TEXT NOT NULL
);

-- The change sequence: one row, bumped by every transaction that changes
-- revisions, approvals or target groups.
CREATE TABLE change_sequence (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO change_sequence (id, value) VALUES (1, 0);

-- One row per imported revision. id is the MS-WUSP RevisionID: AUTOINCREMENT
-- so that an ID is never handed out twice.
CREATE TABLE revision (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    update_id         TEXT    NOT NULL,
    revision_number   INTEGER NOT NULL,
    update_type       TEXT    NOT NULL,
    category_type     TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    kb_article_id     TEXT    NOT NULL,
    publication_state TEXT    NOT NULL,
    creation_date     TEXT,
    -- is_leaf: no revision of the catalog names update_id in a prerequisite.
    is_leaf           INTEGER NOT NULL,
    has_files         INTEGER NOT NULL,
    -- content_sha256 digests everything imported, to tell a re-import of the
    -- same revision from a changed one.
    content_sha256    BLOB    NOT NULL,
    imported          TEXT    NOT NULL,
    UNIQUE (update_id, revision_number)
);

-- Prerequisite CNF: clause_no orders the clauses, position the ids in one.
CREATE TABLE prerequisite (
    revision_id INTEGER NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    clause_no   INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    is_category INTEGER NOT NULL,
    update_id   TEXT    NOT NULL,
    PRIMARY KEY (revision_id, clause_no, position)
);
CREATE INDEX prerequisite_update_id ON prerequisite (update_id);

-- Bundle members, exact revisions, in document order.
CREATE TABLE bundle_member (
    revision_id     INTEGER NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    update_id       TEXT    NOT NULL,
    revision_number INTEGER NOT NULL,
    PRIMARY KEY (revision_id, position)
);
CREATE INDEX bundle_member_update ON bundle_member (update_id, revision_number);

-- The UpdateIDs a revision supersedes.
CREATE TABLE supersedence (
    revision_id INTEGER NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    update_id   TEXT    NOT NULL,
    PRIMARY KEY (revision_id, position)
);
CREATE INDEX supersedence_update_id ON supersedence (update_id);

-- Payload files as each revision lists them. The same file (SHA-1) may be
-- listed by several revisions.
CREATE TABLE revision_file (
    revision_id INTEGER NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    sha1        BLOB    NOT NULL,
    sha256      BLOB,
    file_name   TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    modified    TEXT,
    PRIMARY KEY (revision_id, position)
);
CREATE INDEX revision_file_sha1 ON revision_file (sha1, revision_id);

-- Precomputed MS-WUSP fragments. language is '' for Core and Extended.
CREATE TABLE revision_fragment (
    revision_id INTEGER NOT NULL REFERENCES revision (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    language    TEXT    NOT NULL,
    xml         TEXT    NOT NULL,
    PRIMARY KEY (revision_id, kind, language)
);

-- The whole upd:Update document, kept apart from the hot revision row.
CREATE TABLE revision_xml (
    revision_id INTEGER PRIMARY KEY REFERENCES revision (id) ON DELETE CASCADE,
    xml         TEXT NOT NULL
);

-- Computer target groups. name_key is the name folded for case-insensitive
-- uniqueness (folded in Go, the same way by every store).
CREATE TABLE target_group (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL UNIQUE,
    parent_id  TEXT REFERENCES target_group (id),
    is_builtin INTEGER NOT NULL
);
INSERT INTO target_group (id, name, name_key, parent_id, is_builtin) VALUES
    ('a0a08746-4dbe-4a37-9adf-9e7652c0b421', 'All Computers', 'all computers', NULL, 1),
    ('b73ca6ed-5727-47f3-84de-015e03f6a88a', 'Unassigned Computers', 'unassigned computers',
     'a0a08746-4dbe-4a37-9adf-9e7652c0b421', 1);

-- Approvals in force. id is the deployment ID: AUTOINCREMENT, and a changed
-- approval is a new row, so every change gets an ID never seen before.
CREATE TABLE approval (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    update_id  TEXT NOT NULL,
    group_id   TEXT NOT NULL REFERENCES target_group (id),
    action     TEXT NOT NULL,
    deadline   TEXT,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    UNIQUE (update_id, group_id)
);

-- Client machines, keyed by SusClientId.
CREATE TABLE computer (
    id               TEXT PRIMARY KEY,
    dns_name         TEXT    NOT NULL,
    requested_groups TEXT,
    registered       INTEGER NOT NULL,
    os_major         INTEGER NOT NULL,
    os_minor         INTEGER NOT NULL,
    os_build         INTEGER NOT NULL,
    os_description   TEXT    NOT NULL,
    os_locale        TEXT    NOT NULL,
    architecture     TEXT    NOT NULL,
    manufacturer     TEXT    NOT NULL,
    model            TEXT    NOT NULL,
    client_version   TEXT    NOT NULL,
    first_seen       TEXT    NOT NULL,
    last_sync        TEXT,
    last_report      TEXT,
    last_status_time TEXT
);
CREATE INDEX computer_dns_name ON computer (dns_name, id);

-- Reporting events; seq keeps arrival order.
CREATE TABLE event (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id     TEXT    NOT NULL UNIQUE,
    client_id       TEXT    NOT NULL REFERENCES computer (id),
    event_id        INTEGER NOT NULL,
    source_id       INTEGER NOT NULL,
    time_at_target  TEXT,
    update_id       TEXT    NOT NULL,
    revision_number INTEGER NOT NULL,
    win32_hresult   INTEGER NOT NULL,
    app_name        TEXT    NOT NULL,
    replacement     TEXT,
    misc_data       TEXT,
    received        TEXT    NOT NULL
);
CREATE INDEX event_client ON event (client_id, time_at_target, seq);

-- Per-computer update states.
CREATE TABLE update_status (
    client_id  TEXT    NOT NULL REFERENCES computer (id),
    update_id  TEXT    NOT NULL,
    state      INTEGER NOT NULL,
    changed_at TEXT    NOT NULL,
    PRIMARY KEY (client_id, update_id)
);
