//! Alert pushes to the people who act on them: generic JSON webhooks, WeCom / DingTalk / Feishu
//! robots and Prometheus Alertmanager. Every receiver has its own bounded queue and task, so a
//! slow or dead receiver never slows the engine: `Notifier::notify` only `try_send`s, and a full
//! queue drops that receiver's push and counts it in `floorwatch_notify_dropped_total`.
//!
//! Robots get at most their documented rate (over it, a digest: see `worker`); Alertmanager
//! gets every active alert re-sent continuously, as its client protocol asks (see
//! `alertmanager`). Each receiver has its own client: its CA file, and the environment's
//! HTTPS proxy.

mod alertmanager;
mod config;
mod connect;
mod http;
mod limit;
pub mod nats;
mod render;
mod worker;

#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::vocab::{AlertState, Kind, Severity};

pub use config::{
    DEFAULT_MAX_RETRIES, DEFAULT_QUEUE_CAPACITY, DEFAULT_RESEND_SECS, DEFAULT_TIMEOUT_SECS, Lang,
    NotifyConfig, ProxyConfig, RawNotifyConfig, RawReceiver, ReceiverConfig, SinkKind,
};
pub use connect::ConnectError;

/// What a notice is about: an alert of some kind, or an incident opening or
/// closing. A receiver's `kinds` lists these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    Alert(Kind),
    Incident,
}

impl NoticeKind {
    /// The spelling of incident notices, beside the alert kinds'.
    pub const INCIDENT: &'static str = "incident";

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Alert(k) => k.as_str(),
            NoticeKind::Incident => NoticeKind::INCIDENT,
        }
    }

    pub fn parse(s: &str) -> Option<NoticeKind> {
        match s {
            NoticeKind::INCIDENT => Some(NoticeKind::Incident),
            other => Kind::parse(other).map(NoticeKind::Alert),
        }
    }

    /// Every spelling, alert kinds first.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Kind::ALL.into_iter().map(Kind::as_str).chain([NoticeKind::INCIDENT])
    }
}

impl std::fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An alert as sinks see it (built by the caller from its own record type).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: String,
    pub kind: NoticeKind,
    pub severity: Severity,
    /// The severity it fired with; never changes over the alert's life
    /// (Alertmanager's `severity` label).
    pub fired_severity: Severity,
    pub state: AlertState,
    pub agent: Option<String>,
    pub team: Option<String>,
    pub queue: Option<String>,
    pub source: Option<String>,
    pub component: Option<String>,
    pub started_at_ms: i64,
    pub resolved_at_ms: Option<i64>,
    /// Both languages; a receiver picks one.
    pub message_zh: String,
    pub message_en: String,
    pub acked_by: Option<String>,
    /// Re-notification of an unacknowledged critical, to the supervisor.
    pub escalated: bool,
}

// Defined with every other metric, in `crate::metrics`.
pub use crate::metrics::NotifyMetrics;

/// Timing knobs not in the config (tests shorten them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_cap: Duration,
    /// The window `per_minute` counts over: a minute.
    pub(crate) rate_window: Duration,
    /// Overrides every Alertmanager receiver's `resend_secs`.
    pub(crate) resend: Option<Duration>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            rate_window: Duration::from_secs(60),
            resend: None,
        }
    }
}

/// What a receiver's queue carries.
#[derive(Debug, Clone)]
pub(crate) enum Push {
    /// One alert change (or incident notice).
    One(Arc<Notice>),
    /// The open alerts restored at start, for receivers that keep state
    /// (Alertmanager); the others ignore it.
    Restore(Arc<Vec<Notice>>),
}

/// Handle that routes alert changes to the receivers' queues. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    routes: Vec<Route>,
    metrics: NotifyMetrics,
    tracker: TaskTracker,
    /// Cancelled by `drain` (or the caller's token): workers finish their queues, then stop.
    closing: CancellationToken,
    /// Cancelled when `drain`'s grace runs out: workers stop at once.
    abort: CancellationToken,
    /// The workers' handles until the daemon's supervisor takes them
    /// ([`Notifier::take_tasks`]); the tracker alone would not say that one died.
    tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

struct Route {
    rc: Arc<ReceiverConfig>,
    tx: mpsc::Sender<Push>,
}

/// Starts one task per receiver, each with its own bounded queue. Fails when a
/// receiver's CA file cannot be read or the proxy URL is invalid.
pub fn spawn(
    cfg: NotifyConfig,
    metrics: NotifyMetrics,
    cancel: CancellationToken,
) -> Result<Notifier, ConnectError> {
    spawn_tuned(cfg, metrics, cancel, Tuning::default())
}

pub(crate) fn spawn_tuned(
    cfg: NotifyConfig,
    metrics: NotifyMetrics,
    cancel: CancellationToken,
    tuning: Tuning,
) -> Result<Notifier, ConnectError> {
    let ctx = render::Ctx {
        external_url: cfg.external_url.as_deref().map(|u| u.trim_end_matches('/').to_owned()),
        tz: cfg.timezone,
    };
    let tracker = TaskTracker::new();
    let closing = cancel.child_token();
    let abort = CancellationToken::new();
    let mut routes = Vec::with_capacity(cfg.receivers.len());
    let mut tasks = Vec::with_capacity(cfg.receivers.len());
    for rc in cfg.receivers {
        let rc = Arc::new(rc);
        // Create the series so dashboards see zeros before the first push.
        for c in [&metrics.sent, &metrics.failed, &metrics.dropped, &metrics.retried, &metrics.batched] {
            c.with_label_values(&[rc.name.as_str()]);
        }
        let client = http::client(&rc, &cfg.proxy)?;
        let (tx, rx) = mpsc::channel(rc.queue_capacity.unwrap_or(cfg.queue_capacity).max(1));
        let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
        if rc.kind == SinkKind::Alertmanager {
            let w = alertmanager::AmWorker {
                rc: Arc::clone(&rc),
                ctx: ctx.clone(),
                client,
                metrics: metrics.clone(),
                max_retries: cfg.max_retries,
                timeout,
                tuning,
                closing: closing.clone(),
                abort: abort.clone(),
            };
            tasks.push(tracker.spawn(w.run(rx)));
        } else {
            let w = worker::Worker {
                rc: Arc::clone(&rc),
                ctx: ctx.clone(),
                client,
                metrics: metrics.clone(),
                max_retries: cfg.max_retries,
                timeout,
                tuning,
                closing: closing.clone(),
                abort: abort.clone(),
            };
            tasks.push(tracker.spawn(w.run(rx)));
        }
        tracing::info!(receiver = %rc.name, kind = rc.kind.as_str(), url = %render::mask_url(&rc.url),
            urls = rc.urls.len(), per_minute = rc.per_minute, "notify: receiver started");
        routes.push(Route { rc, tx });
    }
    tracker.close();
    let tasks = std::sync::Mutex::new(tasks);
    Ok(Notifier { inner: Arc::new(Inner { routes, metrics, tracker, closing, abort, tasks }) })
}

/// Whether receiver `r` wants notice `n`.
pub(crate) fn wants(r: &ReceiverConfig, n: &Notice) -> bool {
    (r.teams.is_empty() || n.team.as_ref().is_some_and(|t| r.teams.contains(t)))
        && n.severity >= r.min_severity
        && (r.kinds.is_empty() || r.kinds.contains(&n.kind))
        // Alertmanager follows an alert's whole life, escalated or not (an
        // escalation is an annotation there, not another alert).
        && (!n.escalated || r.escalations || r.kind == SinkKind::Alertmanager)
}

impl Notifier {
    /// Routes one alert change to every matching receiver. Never blocks, never awaits:
    /// a full queue drops the push for that receiver and counts it.
    pub fn notify(&self, n: &Notice) {
        let mut shared: Option<Arc<Notice>> = None;
        for route in &self.inner.routes {
            if !wants(&route.rc, n) {
                continue;
            }
            let notice = Arc::clone(shared.get_or_insert_with(|| Arc::new(n.clone())));
            if let Err(e) = route.tx.try_send(Push::One(notice)) {
                self.inner.metrics.dropped.with_label_values(&[route.rc.name.as_str()]).inc();
                let why = match e {
                    mpsc::error::TrySendError::Full(_) => "queue full",
                    mpsc::error::TrySendError::Closed(_) => "shutting down",
                };
                tracing::warn!(receiver = %route.rc.name, alert = %n.id, why, "notify: push dropped");
            }
        }
    }

    /// Sends `n` to the receivers named in `names` (a playbook's list), whatever
    /// their routing filters say; unknown names are skipped (config validation
    /// refuses them). Returns the names it was queued for. Never blocks.
    pub fn notify_named(&self, names: &[String], n: &Notice) -> Vec<String> {
        let notice = Arc::new(n.clone());
        let mut sent = Vec::new();
        for route in self.inner.routes.iter().filter(|r| names.contains(&r.rc.name)) {
            match route.tx.try_send(Push::One(Arc::clone(&notice))) {
                Ok(()) => sent.push(route.rc.name.clone()),
                Err(_) => {
                    self.inner.metrics.dropped.with_label_values(&[route.rc.name.as_str()]).inc();
                    tracing::warn!(receiver = %route.rc.name, notice = %n.id, "notify: push dropped");
                }
            }
        }
        sent
    }

    /// Sends `n` to the receivers that list its kind in their `kinds` explicitly
    /// (opt-in: incident notices would otherwise double every fault alert for
    /// receivers that take everything). Returns the names it was queued for.
    pub fn notify_subscribers(&self, n: &Notice) -> Vec<String> {
        let names: Vec<String> = self
            .inner
            .routes
            .iter()
            .filter(|r| r.rc.kinds.contains(&n.kind) && wants(&r.rc, n))
            .map(|r| r.rc.name.clone())
            .collect();
        self.notify_named(&names, n)
    }

    /// Hands the alerts restored from the store at start to the receivers that
    /// keep state (Alertmanager, which must go on hearing of them), each as one
    /// queue item whatever their number. Never blocks.
    pub fn restore(&self, open: &[Notice]) {
        for route in self.inner.routes.iter().filter(|r| r.rc.kind == SinkKind::Alertmanager) {
            let mine: Vec<Notice> = open.iter().filter(|n| wants(&route.rc, n)).cloned().collect();
            if mine.is_empty() {
                continue;
            }
            let count = mine.len();
            if route.tx.try_send(Push::Restore(Arc::new(mine))).is_err() {
                self.inner.metrics.dropped.with_label_values(&[route.rc.name.as_str()]).inc();
                tracing::warn!(receiver = %route.rc.name, alerts = count, "notify: restored alerts dropped");
            }
        }
    }

    /// The receivers' worker tasks, once (later calls get none): for the daemon's
    /// supervisor, which treats a worker that ends while serving as a fault.
    pub fn take_tasks(&self) -> Vec<tokio::task::JoinHandle<()>> {
        // A poisoned lock only means a panic elsewhere while taking; the Vec is intact.
        let mut tasks = self.inner.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *tasks)
    }

    /// Names of the receivers that would get `n` (for diagnostics and tests).
    pub fn receivers_for(&self, n: &Notice) -> Vec<&str> {
        self.inner.routes.iter().filter(|r| wants(&r.rc, n)).map(|r| r.rc.name.as_str()).collect()
    }

    /// Waits (bounded by `grace`) for queued pushes to be delivered, for shutdown. Pushes
    /// notified after this starts are dropped; whatever is still pending after `grace` is abandoned.
    pub async fn drain(self, grace: Duration) {
        self.inner.closing.cancel();
        if tokio::time::timeout(grace, self.inner.tracker.wait()).await.is_err() {
            tracing::warn!(
                grace_secs = grace.as_secs_f32(),
                "notify: pushes still pending at shutdown; abandoned"
            );
            self.inner.abort.cancel();
            // Workers stop at their next await point; don't hang if one is wedged.
            let _ = tokio::time::timeout(Duration::from_secs(1), self.inner.tracker.wait()).await;
        }
    }
}
