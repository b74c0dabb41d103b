-- 0002_update_state_computer_groups: declines, per-update change times and
-- server-side targeting. Conventions as in 0001_init.

-- What an admin changed about an update beyond its approvals: declined or
-- not, and when its deployment last changed (an approval set or removed, a
-- decline or un-decline). One row per update ever touched; update_id names
-- the update, not a revision, so it has no foreign key.
CREATE TABLE update_state (
    update_id  TEXT PRIMARY KEY,
    declined   INTEGER NOT NULL,
    changed_at TEXT    NOT NULL
);

-- Catalogs created before this migration hold approvals without a state:
-- give each approved update one, changed when its newest approval was set.
-- (Approvals removed before the upgrade left nothing to recover.)
INSERT INTO update_state (update_id, declined, changed_at)
    SELECT update_id, 0, max(changed_at) FROM approval GROUP BY update_id;

-- The target groups an admin assigned each computer to (server-side
-- targeting).
CREATE TABLE computer_group (
    client_id TEXT NOT NULL REFERENCES computer (id) ON DELETE CASCADE,
    group_id  TEXT NOT NULL REFERENCES target_group (id),
    PRIMARY KEY (client_id, group_id)
);
CREATE INDEX computer_group_group ON computer_group (group_id);
