-- The live floor's latest checkpoint: one row, replaced whole in one
-- transaction, so a reader sees the old checkpoint or the new one, never a mix.
-- `sha256` is the digest of `body`, checked before it is loaded: a row damaged
-- behind SQLite's back (a bad disk, a hand edit) is ignored, not half-applied.
CREATE TABLE floor_checkpoint (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL,
    taken_at INTEGER NOT NULL,
    saved_at INTEGER NOT NULL,
    sha256   BLOB NOT NULL,
    body     BLOB NOT NULL
) STRICT;
