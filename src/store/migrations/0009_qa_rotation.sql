-- Quality assurance (issue 21, items 3 and 5): live-monitoring sessions of the
-- monthly rotation, and the approval of each month's QA analysis. Both are
-- user entries, written with their audit row in the same transaction.

-- One live-monitoring session: an agent of a team monitored (`done`) or passed
-- over (`skipped`, with its reason) in a month of the floor's zone.
CREATE TABLE qa_monitoring (
    id      INTEGER PRIMARY KEY,
    team    TEXT NOT NULL,
    -- YYYY-MM in the floor's zone: the month whose rotation the session is of.
    month   TEXT NOT NULL,
    agent   TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('done', 'skipped')),
    reason  TEXT,
    at      INTEGER NOT NULL,
    by      TEXT NOT NULL,
    CHECK (outcome = 'done' OR (reason IS NOT NULL AND reason <> ''))
) STRICT;

CREATE INDEX qa_monitoring_team_month ON qa_monitoring (team, month, at);

-- The director's (a supervisor's) approval of a month's analysis: once.
CREATE TABLE qa_analysis_approvals (
    month       TEXT PRIMARY KEY,
    approved_at INTEGER NOT NULL,
    approved_by TEXT NOT NULL,
    note        TEXT
) STRICT;
