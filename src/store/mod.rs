//! The embedded SQLite store: alerts, the audit trail of user actions, and
//! key/value blobs for other modules' durable state (the keys are the store's:
//! `baselines` keeps the rules' traffic baselines under its own prefix).
//!
//! Shape: an actor. [`StoreHandle`] is a cheap, clonable sender on one bounded
//! (1024) lossless channel; a dedicated OS thread owns the only connection and
//! answers each command through a oneshot (see `writer`). When the channel is
//! full, callers wait: nothing is ever dropped to make room.
//!
//! Guarantees:
//! - one writer, commands applied in the order they were sent;
//! - a write is answered only after its COMMIT returned, with `synchronous=FULL`
//!   in WAL mode, so an answered write survives a crash or power loss;
//! - the schema is migrated at open (numbered, transactional, `user_version`);
//! - no SQLite call ever blocks a tokio worker thread;
//! - after [`StoreHandle::close`], every call answers [`StoreError::Closed`].

pub mod agent_log;
mod baselines;
mod checkpoint;
mod error;
pub mod incidents;
pub mod qa;
mod queries;
mod retention;
mod schema;
pub mod shift;
mod writer;

use std::path::Path;

use tokio::sync::{mpsc, oneshot};

use crate::vocab::{AlertState, Kind, Severity};
pub use checkpoint::{Sealed, StoredCheckpoint};
pub use error::StoreError;
pub use retention::{Purged, RawRetentionConfig, RetentionConfig, Table};
use writer::{Cmd, Reply};

/// The database file inside the store directory.
const DB_FILE: &str = "floorwatch.db";

/// Commands that can wait for the writer before callers start to wait in turn.
const CHANNEL_CAPACITY: usize = 1024;

/// One alert, the whole record as stored. Times are UTC milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    /// Primary key, e.g. `acw_overrun-1795420801250-3f2a` (kind, start, random).
    pub id: String,
    /// Stored as its `as_str` spelling; a row with another spelling fails to read.
    pub kind: Kind,
    /// Stored as `info` | `warning` | `critical` (the schema refuses anything else).
    pub severity: Severity,
    /// Stored as `firing` | `acknowledged` | `resolved` (the schema refuses anything else).
    pub state: AlertState,
    pub agent: Option<String>,
    pub team: Option<String>,
    pub queue: Option<String>,
    pub source: Option<String>,
    pub component: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
    pub resolved_at: Option<i64>,
    pub acked_by: Option<String>,
    pub acked_at: Option<i64>,
    pub ack_note: Option<String>,
    /// In the configured language (contract §5): one of the two below.
    pub message: String,
    /// The message in Chinese and in English (contract §8). Rows from before
    /// schema version 5 have their one stored message in both.
    pub message_zh: String,
    pub message_en: String,
    /// The severity it fired with, which never changes: Alertmanager's
    /// `severity` label, so an escalation stays the same Alertmanager alert.
    pub fired_severity: Severity,
    /// The measured value that fired it (seconds over, ratio, ...). SQLite stores
    /// NaN as NULL, so a NaN comes back as `None`.
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    /// Last notification sent, for re-notify.
    pub notified_at: Option<i64>,
    pub escalated: bool,
}

/// Which alerts [`StoreHandle::list_alerts`] returns; `None` fields match all.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub state: Option<AlertState>,
    pub kind: Option<Kind>,
    pub team: Option<String>,
    pub queue: Option<String>,
    /// `started_at >= since_ms`.
    pub since_ms: Option<i64>,
    /// At most this many rows; 0 means 500.
    pub limit: usize,
}

/// A handle on the store. Clones share the same writer thread.
#[derive(Clone)]
pub struct StoreHandle {
    tx: mpsc::Sender<Cmd>,
}

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHandle").field("closed", &self.tx.is_closed()).finish()
    }
}

impl StoreHandle {
    /// Creates `dir` if needed, opens/creates `dir/floorwatch.db`, runs migrations,
    /// starts the writer thread.
    ///
    /// This blocks on file I/O: call it at start-up, or from `spawn_blocking`.
    pub fn open(dir: &Path) -> Result<StoreHandle, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Open { path: dir.to_path_buf(), source: Box::new(e) })?;
        let path = dir.join(DB_FILE);
        let conn = schema::open_connection(&path)?;
        let version = schema::user_version(&conn)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        writer::spawn(conn, path.clone(), rx)?;
        tracing::info!(path = %path.display(), schema_version = version, "store opened");
        Ok(StoreHandle { tx })
    }

    /// Resolves once the writer thread takes no more commands: after [`Self::close`],
    /// or when the thread has died (its end of the channel is dropped either way).
    /// The daemon's supervisor watches this: a store that cannot write must not
    /// go on acknowledging what people enter.
    pub async fn writer_stopped(&self) {
        self.tx.closed().await
    }

    /// Sends one command and waits for its answer. A send error or a dropped reply
    /// both mean the writer is gone (closed, or stopped after a close).
    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Cmd) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Inserts or replaces the alert with this id (the whole record), in one
    /// transaction; returns after COMMIT.
    pub async fn save_alert(&self, a: AlertRecord) -> Result<(), StoreError> {
        self.save_alerts(vec![a]).await
    }

    /// Inserts or replaces every record, in one transaction; returns after COMMIT.
    pub async fn save_alerts(&self, alerts: Vec<AlertRecord>) -> Result<(), StoreError> {
        self.call(|reply| Cmd::SaveAlerts(alerts, reply)).await
    }

    /// Records an acknowledgement: sets state='acknowledged', `acked_by`,
    /// `acked_at`, `ack_note` (and moves `updated_at` up to `at_ms`) on alert `id`,
    /// and appends an `audit` row (action 'ack') in the same transaction. Returns
    /// the updated record, or `Ok(None)` when no alert has that id. Answers only
    /// after COMMIT.
    ///
    /// A resolved alert keeps state 'resolved' (the ack is still recorded on it and
    /// audited): it must not come back to life in [`StoreHandle::open_alerts`].
    pub async fn ack_alert(
        &self,
        id: String,
        by: String,
        note: Option<String>,
        at_ms: i64,
    ) -> Result<Option<AlertRecord>, StoreError> {
        self.call(|reply| Cmd::AckAlert { id, by, note, at_ms, reply }).await
    }

    /// Alerts not resolved (state 'firing' or 'acknowledged'), oldest first: used
    /// at start-up to restore state.
    pub async fn open_alerts(&self) -> Result<Vec<AlertRecord>, StoreError> {
        self.call(Cmd::OpenAlerts).await
    }

    /// Alerts matching the filter, newest `started_at` first, at most
    /// `filter.limit` (500 when 0).
    pub async fn list_alerts(&self, filter: AlertFilter) -> Result<Vec<AlertRecord>, StoreError> {
        self.call(|reply| Cmd::ListAlerts(filter, reply)).await
    }

    /// One alert by id.
    pub async fn get_alert(&self, id: String) -> Result<Option<AlertRecord>, StoreError> {
        self.call(|reply| Cmd::GetAlert(id, reply)).await
    }

    /// Runs `f` on the writer thread, in command order, and answers with its
    /// result. `f` opens its own transaction when it writes; the answer comes
    /// after its COMMIT, like every write here.
    async fn job<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let run = Box::new(move |conn: &mut rusqlite::Connection| {
            let result = f(conn).map_err(|e| {
                tracing::warn!(op, error = %e, "store command failed");
                StoreError::Sqlite(e)
            });
            // The caller may have stopped waiting; a write committed all the same.
            let _ = reply.send(result);
        });
        self.tx.send(Cmd::Job { op, run }).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Proves the database is writable (a tiny write transaction); for /healthz.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.call(Cmd::Ping).await
    }

    /// Upserts a key/value blob of another module's durable state.
    pub async fn put_kv(&self, key: String, value: String) -> Result<(), StoreError> {
        self.call(|reply| Cmd::PutKv { key, value, reply }).await
    }

    /// Upserts every pair in one transaction; returns after COMMIT. Private: the
    /// keys are the store's to name (see `baselines`).
    async fn put_kvs(&self, pairs: Vec<(String, String)>) -> Result<(), StoreError> {
        self.call(|reply| Cmd::PutKvs(pairs, reply)).await
    }

    /// Every pair whose key starts with `prefix`, ordered by key.
    async fn kv_with_prefix(&self, prefix: String) -> Result<Vec<(String, String)>, StoreError> {
        self.call(|reply| Cmd::KvPrefix(prefix, reply)).await
    }

    pub async fn get_kv(&self, key: String) -> Result<Option<String>, StoreError> {
        self.call(|reply| Cmd::GetKv(key, reply)).await
    }

    /// Stops the writer thread after every command queued before it is done
    /// (checkpointing the WAL and closing the file); idempotent. Waits while the
    /// channel is full, like any other command.
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.tx.send(Cmd::Close(done)).await.is_ok() {
            // An error here means the thread already stopped: closed all the same.
            let _ = closed.await;
        }
    }

    /// Runs `f` on the writer's connection, in command order.
    #[cfg(test)]
    async fn inspect<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(move |conn: &mut rusqlite::Connection| {
            let _ = reply.send(f(conn));
        });
        self.tx.send(Cmd::Inspect(job)).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)
    }

    /// Commands waiting in the channel (sent, not yet taken by the writer).
    #[cfg(test)]
    fn queued(&self) -> usize {
        CHANNEL_CAPACITY - self.tx.capacity()
    }
}

#[cfg(test)]
mod tests;
