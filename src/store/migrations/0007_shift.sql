-- The duty team's shift (issue 20): the roster and seat plan, sign-ins seen on
-- the floor, the handover sheet's absence reasons and sign-offs, the patrol log
-- and the overrun records for review. Every person's entry here carries an
-- audit row in the same transaction.

CREATE TABLE roster (
    date  TEXT NOT NULL,
    shift TEXT NOT NULL,
    team  TEXT NOT NULL,
    agent TEXT NOT NULL,
    name  TEXT,
    seat  TEXT,
    PRIMARY KEY (date, shift, agent)
) STRICT;

-- First sign-in of each agent in a shift's sign-in window, as the floor saw it.
CREATE TABLE shift_signins (
    date         TEXT NOT NULL,
    shift        TEXT NOT NULL,
    agent        TEXT NOT NULL,
    team         TEXT,
    signed_in_at INTEGER NOT NULL,
    PRIMARY KEY (date, shift, agent)
) STRICT;

CREATE TABLE handover_absences (
    date       TEXT NOT NULL,
    shift      TEXT NOT NULL,
    agent      TEXT NOT NULL,
    team       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    entered_by TEXT NOT NULL,
    entered_at INTEGER NOT NULL,
    PRIMARY KEY (date, shift, agent)
) STRICT;

-- A team's sheet as its lead confirmed it (frozen JSON), and the duty
-- supervisor's countersignature, after which the row is archived.
CREATE TABLE handover_signoffs (
    date             TEXT NOT NULL,
    shift            TEXT NOT NULL,
    team             TEXT NOT NULL,
    sheet            TEXT NOT NULL,
    confirmed_by     TEXT NOT NULL,
    confirmed_at     INTEGER NOT NULL,
    countersigned_by TEXT,
    countersigned_at INTEGER,
    PRIMARY KEY (date, shift, team)
) STRICT;

-- The archive is immutable: the database itself refuses to change or remove a
-- countersigned sheet, whoever asks.
CREATE TRIGGER handover_archived_update BEFORE UPDATE ON handover_signoffs
    WHEN OLD.countersigned_by IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'handover sheet is archived'); END;
CREATE TRIGGER handover_archived_delete BEFORE DELETE ON handover_signoffs
    WHEN OLD.countersigned_by IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'handover sheet is archived'); END;

CREATE TABLE patrols (
    id    INTEGER PRIMARY KEY,
    team  TEXT NOT NULL,
    actor TEXT NOT NULL,
    at    INTEGER NOT NULL,
    note  TEXT
) STRICT;

CREATE INDEX patrols_team_at ON patrols (team, at);

-- One draft per acw_overrun / busy_overrun alert; floorwatch never punishes:
-- people confirm or dismiss, explain and sign off.
CREATE TABLE overruns (
    id               INTEGER PRIMARY KEY,
    alert_id         TEXT NOT NULL UNIQUE,
    agent            TEXT NOT NULL,
    team             TEXT,
    kind             TEXT NOT NULL CHECK (kind IN ('acw_overrun', 'busy_overrun')),
    reason           TEXT,
    started_at       INTEGER NOT NULL,
    duration_secs    INTEGER NOT NULL,
    threshold_secs   INTEGER NOT NULL,
    tier             INTEGER NOT NULL,
    -- 1 once the alert resolved: the duration and tier are final.
    final            INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL CHECK (status IN ('draft', 'confirmed', 'dismissed')),
    note             TEXT,
    reviewed_by      TEXT,
    reviewed_at      INTEGER,
    explanation      TEXT,
    explained_by     TEXT,
    explained_at     INTEGER,
    signed_off_by    TEXT,
    signed_off_at    INTEGER,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX overruns_started ON overruns (started_at);
CREATE INDEX overruns_final ON overruns (final) WHERE final = 0;
