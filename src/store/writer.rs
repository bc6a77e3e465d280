//! The writer thread: the one OS thread that owns the SQLite connection.
//!
//! Guarantees: commands run one at a time in arrival order, so there is exactly
//! one writer and no lock is ever held across an `.await`; each answer is sent
//! only after the command's transaction committed (or failed). Blocking SQLite
//! calls happen only here, never on a tokio worker. On `Close` (or when every
//! handle is dropped) the commands queued before it have all been answered; the
//! thread then refuses the rest, checkpoints the WAL, closes the connection and
//! only then acknowledges the close, so a reopen never races the old connection.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{AlertFilter, AlertRecord, StoreError, queries};

/// Where a command's answer goes.
pub(super) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A command that takes longer than this is logged: with `synchronous=FULL` a
/// slow COMMIT means a slow or failing disk, which ops should hear about.
const SLOW: Duration = Duration::from_secs(1);

pub(super) enum Cmd {
    SaveAlerts(Vec<AlertRecord>, Reply<()>),
    AckAlert {
        id: String,
        by: String,
        note: Option<String>,
        at_ms: i64,
        reply: Reply<Option<AlertRecord>>,
    },
    OpenAlerts(Reply<Vec<AlertRecord>>),
    ListAlerts(AlertFilter, Reply<Vec<AlertRecord>>),
    GetAlert(String, Reply<Option<AlertRecord>>),
    Ping(Reply<()>),
    PutKv {
        key: String,
        value: String,
        reply: Reply<()>,
    },
    GetKv(String, Reply<Option<String>>),
    PutKvs(Vec<(String, String)>, Reply<()>),
    KvPrefix(String, Reply<Vec<(String, String)>>),
    /// Any other module's statements (see `store::incidents`): the closure runs on
    /// this thread, in command order, and answers through its own oneshot.
    Job {
        op: &'static str,
        run: Box<dyn FnOnce(&mut Connection) + Send>,
    },
    Close(oneshot::Sender<()>),
    /// Test hook: runs a closure on the writer's own connection (per-connection
    /// pragmas are visible only there) or holds the writer still.
    #[cfg(test)]
    Inspect(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// Starts the writer thread; it owns `conn` from now on.
pub(super) fn spawn(conn: Connection, path: PathBuf, rx: mpsc::Receiver<Cmd>) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name("floorwatch-store".into())
        .spawn(move || run(conn, &path, rx))
        .map(drop)
        .map_err(StoreError::Thread)
}

fn run(mut conn: Connection, path: &Path, mut rx: mpsc::Receiver<Cmd>) {
    let mut closers = Vec::new();
    // `None` means every handle is gone: nobody can send again, same as a close.
    while let Some(cmd) = rx.blocking_recv() {
        if let Cmd::Close(done) = cmd {
            closers.push(done);
            break;
        }
        handle(&mut conn, cmd);
    }
    // From here on sends fail at once (callers see Closed). Commands that slipped
    // in after the Close are dropped unanswered, which their callers also see as
    // Closed; a second concurrent close() is answered like the first.
    rx.close();
    while let Ok(cmd) = rx.try_recv() {
        if let Cmd::Close(done) = cmd {
            closers.push(done);
        }
    }
    shutdown(conn, path);
    for done in closers {
        // The closer may have stopped waiting; the store is closed either way.
        let _ = done.send(());
    }
}

fn handle(conn: &mut Connection, cmd: Cmd) {
    let started = Instant::now();
    let op = match cmd {
        Cmd::SaveAlerts(a, reply) => answer("save_alerts", reply, queries::save_alerts(conn, &a)),
        Cmd::AckAlert { id, by, note, at_ms, reply } => {
            answer("ack_alert", reply, queries::ack_alert(conn, &id, &by, note.as_deref(), at_ms))
        }
        Cmd::OpenAlerts(reply) => answer("open_alerts", reply, queries::open_alerts(conn)),
        Cmd::ListAlerts(filter, reply) => answer("list_alerts", reply, queries::list_alerts(conn, &filter)),
        Cmd::GetAlert(id, reply) => answer("get_alert", reply, queries::get_alert(conn, &id)),
        Cmd::Ping(reply) => answer("ping", reply, queries::ping(conn)),
        Cmd::PutKv { key, value, reply } => answer("put_kv", reply, queries::put_kvs(conn, &[(key, value)])),
        Cmd::PutKvs(pairs, reply) => answer("put_kvs", reply, queries::put_kvs(conn, &pairs)),
        Cmd::KvPrefix(prefix, reply) => {
            answer("kv_with_prefix", reply, queries::kv_with_prefix(conn, &prefix))
        }
        Cmd::GetKv(key, reply) => answer("get_kv", reply, queries::get_kv(conn, &key)),
        Cmd::Job { op, run } => {
            run(conn);
            op
        }
        // Handled by `run`, which must see it to stop.
        Cmd::Close(_) => "close",
        #[cfg(test)]
        Cmd::Inspect(f) => {
            f(conn);
            "inspect"
        }
    };
    let elapsed = started.elapsed();
    if elapsed >= SLOW {
        tracing::warn!(op, elapsed_ms = elapsed.as_millis() as u64, "store command slow");
    }
}

fn answer<T>(op: &'static str, reply: Reply<T>, result: rusqlite::Result<T>) -> &'static str {
    let result = result.map_err(|e| {
        tracing::warn!(op, error = %e, "store command failed");
        StoreError::Sqlite(e)
    });
    if reply.send(result).is_err() {
        // The caller stopped waiting (its future was dropped). A write has
        // committed all the same; nothing to undo.
        tracing::debug!(op, "store caller went away before the answer");
    }
    op
}

fn shutdown(conn: Connection, path: &Path) {
    // TRUNCATE folds the WAL into the main file and empties it, so a copy of the
    // .db file alone is complete once the store is closed.
    let checkpoint = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)));
    match checkpoint {
        Ok((0, frames)) => tracing::debug!(path = %path.display(), frames, "store wal checkpointed"),
        // Busy: another connection (say an operator's shell) is reading. The WAL
        // stays and SQLite replays it at the next open; nothing is lost.
        Ok((_, frames)) => tracing::warn!(path = %path.display(), frames, "store wal checkpoint incomplete"),
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "store wal checkpoint failed"),
    }
    match conn.close() {
        Ok(()) => tracing::info!(path = %path.display(), "store closed"),
        Err((_conn, e)) => tracing::error!(path = %path.display(), error = %e, "store close failed"),
    }
}
