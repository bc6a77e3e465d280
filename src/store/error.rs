//! The store's one error type. Every failure a caller can see is one of these;
//! nothing in the store panics on input from outside (the file system, the
//! database file, or a caller's data).

use std::path::PathBuf;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory or the database could not be created, opened or configured.
    /// The source is an I/O error (directory) or an SQLite error (file, pragmas).
    #[error("cannot open store at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A schema migration failed; its transaction was rolled back, so the database
    /// is left at the previous version.
    #[error("store migration {version} failed: {source}")]
    Migration {
        version: u32,
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer floorwatch: refusing to guess its schema.
    #[error("store schema version {found} is newer than this build knows ({known})")]
    SchemaTooNew { found: i64, known: u32 },
    /// The writer thread could not be started.
    #[error("cannot start the store writer thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store was closed (or its writer thread is gone): nothing was done.
    #[error("store is closed")]
    Closed,
}
