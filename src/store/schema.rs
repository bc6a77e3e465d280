//! Opening the database: connection settings and numbered schema migrations.
//!
//! Guarantees: the connection handed back runs in WAL mode with
//! `synchronous=FULL` (a COMMIT that returned is on disk, so a crash loses no
//! answered write), foreign keys enforced and a busy timeout; the schema is at
//! the newest version this build knows. Each migration runs in its own
//! transaction together with the `PRAGMA user_version` bump, so a failed one
//! leaves the database exactly at the version before it.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::StoreError;

/// `(version, sql)`, in order, versions 1.. without gaps. Append only: a shipped
/// migration is never edited, since databases in the field already ran it.
pub(super) const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("migrations/0001_alerts.sql")),
    (2, include_str!("migrations/0002_audit.sql")),
    (3, include_str!("migrations/0003_kv_health.sql")),
    (4, include_str!("migrations/0004_incidents.sql")),
    (5, include_str!("migrations/0005_alert_languages.sql")),
    (6, include_str!("migrations/0006_floor_checkpoint.sql")),
    (7, include_str!("migrations/0007_shift.sql")),
    (8, include_str!("migrations/0008_qa.sql")),
    (9, include_str!("migrations/0009_qa_rotation.sql")),
    (10, include_str!("migrations/0010_handover_outgoing.sql")),
    (11, include_str!("migrations/0011_agent_states.sql")),
];

/// How long a statement waits for a lock held by another connection (a backup
/// tool, an operator's `sqlite3` shell) before failing with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed) the database file, applies the connection
/// settings and migrates it to the newest schema.
pub(super) fn open_connection(file: &Path) -> Result<Connection, StoreError> {
    let open_err = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Open {
        path: file.to_path_buf(),
        source: e,
    };
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(file, flags).map_err(|e| open_err(e.into()))?;
    configure(&conn).map_err(open_err)?;
    // A new file gets incremental auto-vacuum, so the retention purge can give
    // freed pages back; it takes effect only before the first table exists
    // (an older file keeps reusing its free pages instead).
    if user_version(&conn).map_err(|e| open_err(e.into()))? == 0 {
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL").map_err(|e| open_err(e.into()))?;
    }
    migrate(&mut conn, MIGRATIONS)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // First, so that the settings below already wait for a lock instead of failing.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // journal_mode answers with the mode in force; a file system without shared
    // memory support silently keeps the old one, so check rather than trust.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("journal_mode is {mode:?}, wanted \"wal\"").into());
    }
    // synchronous and foreign_keys are per connection, not stored in the file.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
    if sync < 2 {
        return Err(format!("synchronous is {sync}, wanted 2 (FULL)").into());
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Runs every migration newer than the database's `user_version`.
pub(super) fn migrate(conn: &mut Connection, migrations: &[(u32, &str)]) -> Result<(), StoreError> {
    let known = migrations.last().map_or(0, |&(v, _)| v);
    let found = user_version(conn)?;
    if found > i64::from(known) {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for &(version, sql) in migrations.iter().filter(|&&(v, _)| i64::from(v) > found) {
        if apply(conn, version, sql).map_err(|source| StoreError::Migration { version, source })? {
            tracing::info!(version, "store migration applied");
        }
    }
    Ok(())
}

/// Applies one migration unless another connection got there first; `true` if it ran.
fn apply(conn: &mut Connection, version: u32, sql: &str) -> rusqlite::Result<bool> {
    // IMMEDIATE takes the write lock up front, so two processes opening the same
    // fresh file cannot both decide to run the same migration.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if user_version(&tx)? >= i64::from(version) {
        return Ok(false);
    }
    tx.execute_batch(sql)?;
    // user_version lives in the file header, which is written under this same
    // transaction: schema and version commit (or vanish) together.
    tx.pragma_update(None, "user_version", version)?;
    tx.commit()?;
    Ok(true)
}

/// The schema version of an open database.
pub(super) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}
