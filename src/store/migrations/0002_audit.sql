-- Audit trail of user actions. Append-only; the foreign key means an audited
-- alert cannot be deleted by accident (the trail must outlive a clean-up).
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    ts       INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    alert_id TEXT REFERENCES alerts (id),
    note     TEXT
) STRICT;

CREATE INDEX audit_alert_id ON audit (alert_id);
