//! Supervision of the daemon's long-lived tasks.
//!
//! Every task the daemon cannot do without (the HTTP server, the engine, the
//! counting and baseline tasks, alerts, incidents, the wall feed, the notifiers) is
//! [`Supervisor::watch`]ed under a name. While the daemon serves, any of them that
//! ends, whether it returned or panicked, is a fault: a daemon without its alert
//! task would go on showing a floor that never raises an alert. [`Supervisor::serve`]
//! then returns the name and the daemon shuts down with an error (exit code 1, so
//! systemd restarts it). After shutdown has begun, tasks ending is the normal
//! course, and the daemon waits for each in its drain order with
//! [`Supervised::finish`].
//!
//! Each watched task gets a small forwarder that awaits its `JoinHandle` and
//! reports the ending twice: once on the supervisor's channel (bounded, one slot a
//! task, so it can never fill) and once on the task's own `watch`, which the drain
//! order reads.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How a watched task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Its future returned.
    Returned,
    /// It panicked (the panic's message, when it had one).
    Panicked(String),
    /// It was cancelled through its `JoinHandle` (the runtime is going away).
    Cancelled,
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::Returned => f.write_str("stopped unexpectedly"),
            Ending::Panicked(m) => write!(f, "crashed: {m}"),
            Ending::Cancelled => f.write_str("was cancelled"),
        }
    }
}

/// A task that ended while the daemon was serving.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} task {ending}")]
pub struct TaskFailed {
    pub name: &'static str,
    pub ending: Ending,
}

/// The watcher of a set of named tasks (see the module docs).
pub struct Supervisor {
    ended_tx: mpsc::Sender<(&'static str, Ending)>,
    ended_rx: mpsc::Receiver<(&'static str, Ending)>,
    /// Room on the channel is reserved per task as it is watched.
    watched: usize,
}

/// One watched task, for the drain order.
pub struct Supervised {
    pub name: &'static str,
    done: watch::Receiver<Option<Ending>>,
}

/// Enough for every task the daemon runs; a daemon with more is a programming
/// error caught by the tests (watch panics are not possible: the channel is sized
/// here and checked in `watch`).
const MAX_TASKS: usize = 64;

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    pub fn new() -> Supervisor {
        let (ended_tx, ended_rx) = mpsc::channel(MAX_TASKS);
        Supervisor { ended_tx, ended_rx, watched: 0 }
    }

    /// Watches `handle` under `name`.
    pub fn watch<T: Send + 'static>(&mut self, name: &'static str, handle: JoinHandle<T>) -> Supervised {
        self.watched += 1;
        debug_assert!(self.watched <= MAX_TASKS, "more than {MAX_TASKS} supervised tasks");
        let (done_tx, done) = watch::channel(None);
        let ended = self.ended_tx.clone();
        tokio::spawn(async move {
            let ending = match handle.await {
                Ok(_) => Ending::Returned,
                Err(e) if e.is_cancelled() => Ending::Cancelled,
                Err(e) => Ending::Panicked(panic_message(e)),
            };
            done_tx.send_replace(Some(ending.clone()));
            // `try_send`: the channel has a slot for every task, and a supervisor
            // that is gone (the daemon is past serving) needs no report.
            let _ = ended.try_send((name, ending));
        });
        Supervised { name, done }
    }

    /// Serves until `cancel` is cancelled (`Ok`) or a watched task ends first
    /// (`Err`, and `cancel` is cancelled so the rest of the daemon stops).
    pub async fn serve(&mut self, cancel: &CancellationToken) -> Result<(), TaskFailed> {
        tokio::select! {
            // Cancellation first: once shutdown has begun, tasks that drain and end
            // are the normal course, not a fault.
            biased;
            _ = cancel.cancelled() => Ok(()),
            ended = self.ended_rx.recv() => {
                cancel.cancel();
                // The supervisor holds a sender itself, so `None` cannot happen;
                // treat it as a fault all the same rather than serve unwatched.
                let (name, ending) = ended.unwrap_or(("supervisor", Ending::Cancelled));
                tracing::error!(task = name, ending = %ending, "supervised task ended while serving; shutting down");
                Err(TaskFailed { name, ending })
            }
        }
    }
}

impl Supervised {
    /// Waits up to `grace` for the task to end; how it ended, or `None` (with a
    /// warning) if it did not end in time.
    pub async fn finish(mut self, grace: Duration) -> Option<Ending> {
        let name = self.name;
        match tokio::time::timeout(grace, self.done.wait_for(Option::is_some)).await {
            Ok(Ok(ending)) => ending.clone(),
            // The forwarder is gone without a report: the runtime is shutting down.
            Ok(Err(_)) => Some(Ending::Cancelled),
            Err(_) => {
                tracing::warn!(task = name, grace_secs = grace.as_secs(), "task did not finish in time");
                None
            }
        }
    }
}

fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic without a message".to_owned()),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_ends_while_serving_is_a_named_fault_and_cancels_the_daemon() {
        let mut sup = Supervisor::new();
        let cancel = CancellationToken::new();
        let keep = cancel.clone();
        let long = sup.watch("engine", tokio::spawn(async move { keep.cancelled().await }));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let _alerts = sup.watch(
            "alerts",
            tokio::spawn(async move {
                let _ = stop_rx.await;
            }),
        );
        drop(stop_tx);
        let err = sup.serve(&cancel).await.expect_err("the alerts task ended");
        assert_eq!(err, TaskFailed { name: "alerts", ending: Ending::Returned });
        assert!(cancel.is_cancelled(), "the rest of the daemon is told to stop");
        assert_eq!(long.finish(Duration::from_secs(5)).await, Some(Ending::Returned));
    }

    #[tokio::test]
    async fn a_panic_is_reported_with_its_message() {
        let mut sup = Supervisor::new();
        let cancel = CancellationToken::new();
        let _t = sup.watch("incidents", tokio::spawn(async { panic!("boom") }));
        let err = sup.serve(&cancel).await.expect_err("it panicked");
        assert_eq!(err.name, "incidents");
        assert_eq!(err.ending, Ending::Panicked("boom".into()));
        assert_eq!(err.to_string(), "incidents task crashed: boom");
    }

    #[tokio::test]
    async fn tasks_ending_after_shutdown_began_are_the_normal_course() {
        let mut sup = Supervisor::new();
        let cancel = CancellationToken::new();
        let keep = cancel.clone();
        let t = sup.watch("engine", tokio::spawn(async move { keep.cancelled().await }));
        cancel.cancel();
        assert_eq!(sup.serve(&cancel).await, Ok(()));
        assert_eq!(t.finish(Duration::from_secs(5)).await, Some(Ending::Returned));
    }

    #[tokio::test(start_paused = true)]
    async fn finish_gives_up_after_the_grace() {
        let mut sup = Supervisor::new();
        let t = sup.watch("stuck", tokio::spawn(std::future::pending::<()>()));
        assert_eq!(t.finish(Duration::from_secs(3)).await, None);
    }
}
