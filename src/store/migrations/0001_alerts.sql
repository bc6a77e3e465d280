-- Alerts: one row per alert id, the whole record. STRICT so a type mix-up in the
-- Rust mapping fails loudly instead of storing text in a time column.
CREATE TABLE alerts (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    state       TEXT NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    agent       TEXT,
    team        TEXT,
    queue       TEXT,
    source      TEXT,
    component   TEXT,
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    acked_by    TEXT,
    acked_at    INTEGER,
    ack_note    TEXT,
    message     TEXT NOT NULL,
    value       REAL,
    threshold   REAL,
    notified_at INTEGER,
    escalated   INTEGER NOT NULL DEFAULT 0 CHECK (escalated IN (0, 1))
) STRICT;

CREATE INDEX alerts_state ON alerts (state);
CREATE INDEX alerts_started_at ON alerts (started_at);
CREATE INDEX alerts_kind ON alerts (kind);
