-- Quality assurance (issue 21): the call log, pre-registered sampling rules,
-- reviews and their appeals. Everything but the call log is a user entry,
-- written with its audit row in the same transaction.

-- Every call the floor counted in full, as the recording system is searched
-- by its id. Times are event times (UTC ms). Kept `[qa] keep_days`.
CREATE TABLE calls (
    call_id      TEXT NOT NULL,
    offered_at   INTEGER NOT NULL,
    queue        TEXT,
    agent        TEXT,
    caller       TEXT,
    answered_at  INTEGER,
    abandoned_at INTEGER,
    ended_at     INTEGER,
    -- A call id a switch reuses on another day is another call.
    PRIMARY KEY (call_id, offered_at)
) STRICT, WITHOUT ROWID;

CREATE INDEX calls_offered ON calls (offered_at);
CREATE INDEX calls_agent_offered ON calls (agent, offered_at);

-- A sampling rule, registered before its period and never changed after:
-- `body` is the canonical JSON the sample is computed from, `digest` its
-- SHA-256, published so anyone can check the rule they re-run is this one.
CREATE TABLE qa_rules (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    from_ms       INTEGER NOT NULL,
    to_ms         INTEGER NOT NULL,
    body          TEXT NOT NULL,
    digest        TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    registered_by TEXT NOT NULL
) STRICT;

-- Immutable: what the floor filed with the leads cannot be edited later, by
-- floorwatch or by a hand at the sqlite3 shell.
CREATE TRIGGER qa_rules_no_update BEFORE UPDATE ON qa_rules
BEGIN
    SELECT RAISE(ABORT, 'a registered sampling rule is immutable');
END;
CREATE TRIGGER qa_rules_no_delete BEFORE DELETE ON qa_rules
BEGIN
    SELECT RAISE(ABORT, 'a registered sampling rule is immutable');
END;

-- One review per sampled call: the score sheet's deductions (JSON list of
-- {item, points}) and the score they leave.
CREATE TABLE qa_reviews (
    id          INTEGER PRIMARY KEY,
    call_id     TEXT NOT NULL,
    rule_id     TEXT REFERENCES qa_rules (id),
    agent       TEXT NOT NULL,
    reviewer    TEXT NOT NULL,
    reviewed_at INTEGER NOT NULL,
    deductions  TEXT NOT NULL,
    score       REAL NOT NULL,
    note        TEXT,
    UNIQUE (call_id)
) STRICT;

CREATE INDEX qa_reviews_agent ON qa_reviews (agent, reviewed_at);

-- An agent's appeal of one review: filed → accepted (by the lead, to the
-- three-party review) or rejected → upheld or amended (the panel decides).
CREATE TABLE qa_appeals (
    id         INTEGER PRIMARY KEY,
    review_id  INTEGER NOT NULL UNIQUE REFERENCES qa_reviews (id),
    agent      TEXT NOT NULL,
    items      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('filed', 'accepted', 'rejected', 'upheld', 'amended')),
    filed_at   INTEGER NOT NULL,
    lead       TEXT,
    lead_at    INTEGER,
    -- The three-party review: supervisor, lead and QA, each by name.
    panel      TEXT,
    decided_at INTEGER,
    score      REAL,
    note       TEXT
) STRICT;
