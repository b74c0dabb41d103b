-- 0105_rules: automatic approval rules, rings, the automatic decline
-- settings, what they did, and the lease of their runs (catalog.RuleStore).
-- PostgreSQL's types; SQLite's twin is 0105_rules.sqlite.sql.

-- One row per approval rule. body is the JSON of catalog.ApprovalRule (its
-- JSON tags are its declared persisted form); name_key is the lowered name,
-- unique as names are case-insensitively.
CREATE TABLE approval_rule (
    id         uuid PRIMARY KEY,
    name_key   text NOT NULL UNIQUE,
    body       text NOT NULL,
    changed_at timestamptz NOT NULL
);

-- One row per ring of a rule. body is the JSON of catalog.Ring without its
-- state; state is the JSON of catalog.RingState, kept by PauseRing and
-- ResumeRing only.
CREATE TABLE ring (
    id         uuid    PRIMARY KEY,
    rule_id    uuid    NOT NULL,
    name_key   text    NOT NULL UNIQUE,
    position   integer NOT NULL,
    body       text    NOT NULL,
    state      text    NOT NULL,
    changed_at timestamptz NOT NULL,
    UNIQUE (rule_id, position)
);

-- One row per automatic approval or decline made (catalog.RuleAction):
-- a run makes each once, so that an admin who undoes it is not overruled.
-- group_id is the nil UUID for a decline.
CREATE TABLE rule_action (
    source    text NOT NULL,
    update_id uuid NOT NULL,
    group_id  uuid NOT NULL,
    action    text NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (source, update_id, group_id)
);

-- One row: the automatic decline settings (JSON of catalog.AutoDecline,
-- '' before any were set) and the lease of rule runs (holder '' when free).
CREATE TABLE rules_settings (
    id            integer PRIMARY KEY CHECK (id = 1),
    autodecline   text NOT NULL DEFAULT '',
    changed_at    timestamptz,
    lease_holder  text NOT NULL DEFAULT '',
    lease_expires timestamptz
);
INSERT INTO rules_settings (id) VALUES (1);
