-- Durable key/value state of other modules (e.g. learned traffic baselines).
CREATE TABLE kv (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- One row, rewritten by every health ping: proof that a write transaction commits.
CREATE TABLE health (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL,
    pings      INTEGER NOT NULL
) STRICT;
