-- 0104_compliance: what the admin views (catalog.ComplianceStore) filter,
-- sort and count on. SQLite's types; PostgreSQL's twin is
-- 0104_compliance.postgres.sql.

-- What upd:Properties carries beyond the columns of 0001 (MS-WSUSSS 4.2):
-- msrc_severity is @MsrcSeverity ('' when none); cves and languages are
-- the CveID and Language children, JSON arrays of strings, NULL when none.
-- search_text is what ListUpdates' text search matches: the title, "kb"
-- and the KB article, and the CVE IDs, lower-cased in Go, one per line.
-- properties_read is set once the store read them from the revision's
-- document: on import, or by the Go step that follows the migrations for
-- the revisions imported before this version (migrate.go).
ALTER TABLE revision ADD COLUMN msrc_severity TEXT NOT NULL DEFAULT '';
ALTER TABLE revision ADD COLUMN cves TEXT;
ALTER TABLE revision ADD COLUMN languages TEXT;
ALTER TABLE revision ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE revision ADD COLUMN properties_read INTEGER NOT NULL DEFAULT 0;

-- is_newest: the revision has the highest revision number of its update
-- (the one row the update lists as). is_bundled: some revision of the
-- catalog lists the update among its bundle members (left out of lists).
-- Every import recomputes both, as it does is_leaf.
ALTER TABLE revision ADD COLUMN is_newest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE revision ADD COLUMN is_bundled INTEGER NOT NULL DEFAULT 0;
UPDATE revision SET is_newest = 1 WHERE revision_number =
    (SELECT max(r2.revision_number) FROM revision r2 WHERE r2.update_id = revision.update_id);
UPDATE revision SET is_bundled = 1 WHERE EXISTS
    (SELECT 1 FROM bundle_member b WHERE b.update_id = revision.update_id);
-- The listed revisions, covering what counts and the default order read.
CREATE INDEX revision_listed ON revision (is_newest, is_bundled, update_type, update_id, creation_date);
CREATE INDEX revision_kb ON revision (kb_article_id);

-- The Win32HResult of the last install failure (event 182) a computer
-- reported for the update; 0 unless state is 5 (Failed).
ALTER TABLE update_status ADD COLUMN error_code INTEGER NOT NULL DEFAULT 0;
-- An update's states, covering what its counts and its computers' sets
-- read.
CREATE INDEX update_status_update ON update_status (update_id, state, client_id);

-- Counts kept in the transaction that changes a state (applyStatuses,
-- DeleteComputers): per update, the computers in each compliance class
-- (installed: 4; needed: 2, 3, 6; failed: 5; not_applicable: 1; state 0
-- counts nowhere), and per computer, its updates in each class.
CREATE TABLE update_compliance (
    update_id      TEXT    PRIMARY KEY,
    installed      INTEGER NOT NULL DEFAULT 0,
    needed         INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    not_applicable INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE computer ADD COLUMN installed_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE computer ADD COLUMN needed_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE computer ADD COLUMN failed_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE computer ADD COLUMN not_applicable_count INTEGER NOT NULL DEFAULT 0;
-- The computers needing most first (ListComputers sort=needed), in the
-- order of its ties (client ID, byte order).
CREATE INDEX computer_needed ON computer (needed_count DESC, id);

INSERT INTO update_compliance (update_id, installed, needed, failed, not_applicable)
    SELECT update_id,
        sum(CASE WHEN state = 4 THEN 1 ELSE 0 END),
        sum(CASE WHEN state IN (2, 3, 6) THEN 1 ELSE 0 END),
        sum(CASE WHEN state = 5 THEN 1 ELSE 0 END),
        sum(CASE WHEN state = 1 THEN 1 ELSE 0 END)
    FROM update_status WHERE state BETWEEN 1 AND 6 GROUP BY update_id;
UPDATE computer SET installed_count = s.installed, needed_count = s.needed, failed_count = s.failed,
        not_applicable_count = s.not_applicable
    FROM (SELECT client_id,
            sum(CASE WHEN state = 4 THEN 1 ELSE 0 END) AS installed,
            sum(CASE WHEN state IN (2, 3, 6) THEN 1 ELSE 0 END) AS needed,
            sum(CASE WHEN state = 5 THEN 1 ELSE 0 END) AS failed,
            sum(CASE WHEN state = 1 THEN 1 ELSE 0 END) AS not_applicable
        FROM update_status GROUP BY client_id) AS s
    WHERE s.client_id = computer.id;
