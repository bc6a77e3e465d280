-- What the outgoing shift handed over (issue 20): its open incidents, call-backs,
-- faults, firing alerts and the shift's figures, frozen as JSON by the duty
-- supervisor's first countersignature of the sheet, so an archived sheet shows
-- what was handed over then, not what is open when someone reads it later.
CREATE TABLE handover_outgoing (
    date      TEXT NOT NULL,
    shift     TEXT NOT NULL,
    outgoing  TEXT NOT NULL,
    frozen_by TEXT NOT NULL,
    frozen_at INTEGER NOT NULL,
    PRIMARY KEY (date, shift)
) STRICT;

CREATE TRIGGER handover_outgoing_update BEFORE UPDATE ON handover_outgoing
    BEGIN SELECT RAISE(ABORT, 'handover sheet is archived'); END;
CREATE TRIGGER handover_outgoing_delete BEFORE DELETE ON handover_outgoing
    BEGIN SELECT RAISE(ABORT, 'handover sheet is archived'); END;
