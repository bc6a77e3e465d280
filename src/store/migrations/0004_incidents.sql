-- Incidents and their playbook steps: the unified reply script (every version
-- kept), the timeline, linked alerts, the call-back log and the fault register.
-- Every row here is a user entry or part of one's story: written with
-- synchronous=FULL like everything in this database, never deleted.

CREATE TABLE incidents (
    id                     TEXT PRIMARY KEY,
    -- The alert kind whose playbook it runs, or 'manual'.
    kind                   TEXT NOT NULL,
    state                  TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    title                  TEXT NOT NULL,
    queue                  TEXT,
    component              TEXT,
    opened_at              INTEGER NOT NULL,
    opened_by              TEXT NOT NULL,
    closed_at              INTEGER,
    closed_by              TEXT,
    summary                TEXT,
    expected_recovery_mins INTEGER,
    -- The version agents and the wallboard see; 0 while none is published.
    published_version      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX incidents_state_opened ON incidents (state, opened_at);

CREATE TABLE incident_scripts (
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    version      INTEGER NOT NULL,
    text_zh      TEXT NOT NULL,
    text_en      TEXT NOT NULL,
    author       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    published_at INTEGER,
    PRIMARY KEY (incident_id, version)
) STRICT;

CREATE TABLE incident_alerts (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    alert_id    TEXT NOT NULL,
    -- 'trigger': its playbook opened (or keeps open) the incident; 'related':
    -- raised while it was open, on its queue or floor-wide.
    role        TEXT NOT NULL CHECK (role IN ('trigger', 'related')),
    linked_at   INTEGER NOT NULL,
    resolved_at INTEGER,
    PRIMARY KEY (incident_id, alert_id)
) STRICT;

CREATE TABLE incident_timeline (
    id          INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    ts          INTEGER NOT NULL,
    what        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT
) STRICT;

CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id);

CREATE TABLE callbacks (
    id          INTEGER PRIMARY KEY,
    caller      TEXT NOT NULL,
    incident_id TEXT REFERENCES incidents (id),
    queue       TEXT,
    call_id     TEXT,
    origin      TEXT NOT NULL CHECK (origin IN ('abandoned', 'manual')),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'assigned', 'done', 'failed')),
    agent       TEXT,
    note        TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    -- Times this number came in during the incident (duplicates are merged).
    occurrences INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    assigned_at INTEGER,
    finished_at INTEGER
) STRICT;

-- One entry per number per incident: a caller who rings and hangs up three times
-- is called back once.
CREATE UNIQUE INDEX callbacks_incident_caller ON callbacks (incident_id, caller)
    WHERE incident_id IS NOT NULL;
CREATE INDEX callbacks_status_created ON callbacks (status, created_at);

CREATE TABLE faults (
    id               TEXT PRIMARY KEY,
    component        TEXT NOT NULL,
    -- system_fault, source_down (the alert that found it) or manual.
    origin           TEXT NOT NULL,
    alert_id         TEXT,
    incident_id      TEXT REFERENCES incidents (id),
    detail           TEXT NOT NULL,
    detected_at      INTEGER NOT NULL,
    reported_at      INTEGER,
    reported_to      TEXT,
    recovered_at     INTEGER,
    -- Floor totals when it was detected, so its impact is the difference at recovery.
    offered_before   INTEGER NOT NULL DEFAULT 0,
    abandoned_before INTEGER NOT NULL DEFAULT 0,
    offered_during   INTEGER,
    abandoned_during INTEGER,
    cause            TEXT,
    resolution       TEXT,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX faults_detected ON faults (detected_at);

-- The audit trail now covers every write, not only acknowledgements.
ALTER TABLE audit ADD COLUMN target TEXT;
ALTER TABLE audit ADD COLUMN detail TEXT;
