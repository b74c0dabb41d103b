-- 0105_rules: automatic approval rules, rings, the automatic decline
-- settings, what they did, and the lease of their runs (catalog.RuleStore).
-- SQLite's types; PostgreSQL's twin is 0105_rules.postgres.sql.

-- One row per approval rule. body is the JSON of catalog.ApprovalRule (its
-- JSON tags are its declared persisted form); name_key is the lowered name,
-- unique as names are case-insensitively.
CREATE TABLE approval_rule (
    id         TEXT PRIMARY KEY,
    name_key   TEXT NOT NULL UNIQUE,
    body       TEXT NOT NULL,
    changed_at TEXT NOT NULL
);

-- One row per ring of a rule. body is the JSON of catalog.Ring without its
-- state; state is the JSON of catalog.RingState, kept by PauseRing and
-- ResumeRing only.
CREATE TABLE ring (
    id         TEXT    PRIMARY KEY,
    rule_id    TEXT    NOT NULL,
    name_key   TEXT    NOT NULL UNIQUE,
    position   INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    changed_at TEXT    NOT NULL,
    UNIQUE (rule_id, position)
);

-- One row per automatic approval or decline made (catalog.RuleAction):
-- a run makes each once, so that an admin who undoes it is not overruled.
-- group_id is the nil UUID for a decline.
CREATE TABLE rule_action (
    source    TEXT NOT NULL,
    update_id TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    action    TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (source, update_id, group_id)
);

-- One row: the automatic decline settings (JSON of catalog.AutoDecline,
-- '' before any were set) and the lease of rule runs (holder '' when free).
CREATE TABLE rules_settings (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    autodecline   TEXT NOT NULL DEFAULT '',
    changed_at    TEXT,
    lease_holder  TEXT NOT NULL DEFAULT '',
    lease_expires TEXT
);
INSERT INTO rules_settings (id) VALUES (1);
