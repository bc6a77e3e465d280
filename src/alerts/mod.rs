//! The alert lifecycle: `firing` → `acknowledged` (who, when, note) → `resolved`.
//!
//! One task owns the open alerts. It takes [`Signal`]s from the engine's rules
//! (bounded, lossless) and commands from HTTP (acknowledge, list open), keeps one
//! alert per (kind, subject), announces every change on a lossy broadcast for push
//! sessions (which resync from [`AlertsHandle::open`] when they lag) and commits it
//! to the store. An acknowledgement — a user entry — is committed before it is
//! answered or announced.
//!
//! Restart: open alerts are loaded from the store at start; their keys go to the
//! rules, which confirm them (same key fires again: same alert, same id, ack kept)
//! or clear them.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::event::{FastMap, Ts};
use crate::metrics::Metrics;
use crate::notify::{Notice, NoticeKind, Notifier};
use crate::rules::{CallerLost, Fire, Signal};
use crate::store::{AlertRecord, StoreError, StoreHandle};
use crate::vocab::{AlertKey, AlertState, Kind, Language, Severity, Subject};

#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    #[error("alert store: {0}")]
    Store(#[from] StoreError),
    #[error("the alert task has stopped")]
    Stopped,
    #[error("alert {0} is already resolved")]
    Resolved(String),
}

enum Cmd {
    Ack {
        id: String,
        by: String,
        note: Option<String>,
        reply: oneshot::Sender<Result<Option<AlertRecord>, AlertsError>>,
    },
    Open {
        reply: oneshot::Sender<Vec<AlertRecord>>,
    },
}

/// Cheap to clone; every HTTP handler holds one.
#[derive(Clone)]
pub struct AlertsHandle {
    cmd: mpsc::Sender<Cmd>,
    updates: broadcast::Sender<Arc<AlertRecord>>,
    pub store: StoreHandle,
}

impl AlertsHandle {
    /// Acknowledges alert `id`; `Ok(None)` when there is no such alert.
    pub async fn ack(
        &self,
        id: String,
        by: String,
        note: Option<String>,
    ) -> Result<Option<AlertRecord>, AlertsError> {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(Cmd::Ack { id, by, note, reply }).await.map_err(|_| AlertsError::Stopped)?;
        rx.await.map_err(|_| AlertsError::Stopped)?
    }

    /// Alerts firing or acknowledged now, oldest first.
    pub async fn open(&self) -> Result<Vec<AlertRecord>, AlertsError> {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(Cmd::Open { reply }).await.map_err(|_| AlertsError::Stopped)?;
        rx.await.map_err(|_| AlertsError::Stopped)
    }

    /// Every alert change from now on (lossy: on lag, resync with [`Self::open`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<AlertRecord>> {
        self.updates.subscribe()
    }
}

pub struct Alerts {
    pub handle: AlertsHandle,
    pub task: JoinHandle<()>,
    /// Keys of the alerts restored as open, for the rules.
    pub restored: Vec<AlertKey>,
}

/// Loads open alerts from the store and starts the owner task.
/// How the alert task tells people: message language of the record, and the
/// receivers (team leads, duty supervisor, Alertmanager) if any.
pub struct Outlets {
    pub language: Language,
    pub notifier: Option<Notifier>,
    pub renotify: std::time::Duration,
    /// Downstream, lossless and in order: every committed alert change and every
    /// lost caller, for the incidents task. The alert task waits when it is full.
    pub downstream: Option<mpsc::Sender<Vec<Change>>>,
}

/// What the alert task passes downstream, after its own commit.
#[derive(Debug, Clone)]
pub enum Change {
    Alert(Arc<AlertRecord>),
    CallerLost(CallerLost),
}

pub async fn spawn(
    store: StoreHandle,
    signals: mpsc::Receiver<Vec<Signal>>,
    metrics: Arc<Metrics>,
    clock: Clock,
    outlets: Outlets,
) -> Result<Alerts, StoreError> {
    let open_alerts = store.open_alerts().await?;
    let (cmd, cmd_rx) = mpsc::channel(256);
    // Room for a whole floor's worth of changes at once (a slot is an `Arc`): a
    // push client that lags must resync through this task, which may be busy
    // committing that same burst.
    let (updates, _) = broadcast::channel(65_536);
    let mut state = State {
        open: FastMap::default(),
        ids: FastMap::default(),
        store: store.clone(),
        updates: updates.clone(),
        metrics,
        clock,
        renotify_ms: i64::try_from(outlets.renotify.as_millis()).unwrap_or(i64::MAX),
        language: outlets.language,
        notifier: outlets.notifier,
        downstream: outlets.downstream,
    };
    let mut restored = Vec::new();
    for a in open_alerts {
        let Some(key) = key_of(&a) else { continue };
        restored.push(key.clone());
        state.ids.insert(a.id.clone(), key.clone());
        state.open.insert(key, a);
    }
    state.refresh_gauges();
    if let Some(n) = &state.notifier {
        // Alertmanager must go on hearing of them, or it resolves them itself.
        let open: Vec<Notice> = state.open.values().map(notice_of).collect();
        n.restore(&open);
    }
    tracing::info!(open = restored.len(), "alerts restored from the store");
    let task = tokio::spawn(state.run(signals, cmd_rx));
    Ok(Alerts { handle: AlertsHandle { cmd, updates, store }, task, restored })
}

/// The key the rules raised a stored alert under; `None` when the row lacks the
/// field its subject lives in.
fn key_of(a: &AlertRecord) -> Option<AlertKey> {
    let subject = Subject::of(
        a.kind,
        a.agent.as_deref(),
        a.queue.as_deref(),
        a.source.as_deref(),
        a.component.as_deref(),
    )?;
    Some(AlertKey { kind: a.kind, subject })
}

struct State {
    open: FastMap<AlertKey, AlertRecord>,
    ids: FastMap<String, AlertKey>,
    store: StoreHandle,
    updates: broadcast::Sender<Arc<AlertRecord>>,
    metrics: Arc<Metrics>,
    clock: Clock,
    renotify_ms: i64,
    language: Language,
    notifier: Option<Notifier>,
    downstream: Option<mpsc::Sender<Vec<Change>>>,
}

impl State {
    async fn run(mut self, mut signals: mpsc::Receiver<Vec<Signal>>, mut cmds: mpsc::Receiver<Cmd>) {
        let mut signals_open = true;
        let mut check = tokio::time::interval(std::time::Duration::from_secs(5));
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = check.tick() => self.renotify().await,
                batch = signals.recv(), if signals_open => match batch {
                    Some(batch) => self.apply(batch).await,
                    // The engine has drained and stopped; commands may still come
                    // until the HTTP side is gone.
                    None => signals_open = false,
                },
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::Ack { id, by, note, reply }) => {
                        let _ = reply.send(self.ack(id, by, note).await);
                    }
                    Some(Cmd::Open { reply }) => {
                        let mut v: Vec<_> = self.open.values().cloned().collect();
                        v.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.id.cmp(&b.id)));
                        let _ = reply.send(v);
                    }
                    None if !signals_open => break,
                    None => {
                        // Every handle is gone; finish the signals still queued.
                        while let Some(batch) = signals.recv().await {
                            self.apply(batch).await;
                        }
                        break;
                    }
                },
            }
        }
        tracing::info!(open = self.open.len(), "alert task stopped");
    }

    async fn apply(&mut self, batch: Vec<Signal>) {
        let mut changed = Vec::new();
        let mut lost = Vec::new();
        for s in batch {
            match s {
                Signal::Fire(f) => {
                    if let Some(rec) = self.on_fire(*f) {
                        changed.push(rec);
                    }
                }
                Signal::Clear { key, at } => {
                    if let Some(mut rec) = self.open.remove(&key) {
                        self.ids.remove(&rec.id);
                        rec.state = AlertState::Resolved;
                        rec.resolved_at = Some(at.max(rec.started_at));
                        rec.updated_at = self.clock.now_ms();
                        changed.push(rec);
                    }
                }
                Signal::CallerLost(c) => lost.push(Change::CallerLost(*c)),
            }
        }
        if changed.is_empty() {
            self.pass_down(lost).await;
            return;
        }
        // Announced first, then committed (one transaction for the batch). An alert
        // raised by the rules is not a user entry: if the process died in between,
        // the rules would raise it again after the restart. Announcing first keeps
        // a burst (a whole floor crossing a threshold: 50,000 rows take ~0.5 s to
        // commit) from delaying the pushes. `/api/alerts` lists what is committed.
        let mut saved = Vec::with_capacity(changed.len());
        for rec in changed {
            tracing::info!(id = %rec.id, kind = %rec.kind, state = %rec.state, severity = %rec.severity, "alert");
            let rec = Arc::new(rec);
            self.announce(&rec);
            saved.push(rec);
        }
        self.refresh_gauges();
        let records: Vec<AlertRecord> = saved.iter().map(|r| AlertRecord::clone(r)).collect();
        if let Err(e) = self.store.save_alerts(records).await {
            tracing::error!(error = %e, alerts = saved.len(), "cannot save alerts");
        }
        // Alerts first, then the callers lost in the same batch: an incident the
        // batch opens is there for its callers.
        let mut down: Vec<Change> = saved.into_iter().map(Change::Alert).collect();
        down.extend(lost);
        self.pass_down(down).await;
    }

    /// Hands changes to the incidents task; waits while it is busy (lossless).
    async fn pass_down(&self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        if let Some(tx) = &self.downstream
            && tx.send(changes).await.is_err()
        {
            tracing::debug!("incidents task gone; changes not passed down");
        }
    }

    /// Critical alerts nobody has acknowledged are announced again — escalated to
    /// the duty supervisor — every `renotify` interval.
    async fn renotify(&mut self) {
        let due = escalate_due(&mut self.open, self.clock.now_ms(), self.renotify_ms);
        if due.is_empty() {
            return;
        }
        if let Err(e) = self.store.save_alerts(due.clone()).await {
            tracing::error!(error = %e, "cannot save escalated alerts");
        }
        for rec in due {
            tracing::warn!(id = %rec.id, kind = %rec.kind, "unacknowledged critical alert escalated");
            self.announce(&Arc::new(rec));
        }
    }

    /// A new alert, or a changed one (severity up); `None` when nothing changed.
    fn on_fire(&mut self, f: Fire) -> Option<AlertRecord> {
        let now = self.clock.now_ms();
        if let Some(rec) = self.open.get_mut(&f.key) {
            if f.severity <= rec.severity {
                return None;
            }
            rec.severity = f.severity;
            rec.message = f.text.pick(self.language).to_owned();
            rec.message_zh = f.text.zh;
            rec.message_en = f.text.en;
            rec.value = f.value;
            rec.updated_at = now;
            return Some(rec.clone());
        }
        let rec = AlertRecord {
            id: new_id(f.key.kind, f.started_at),
            kind: f.key.kind,
            severity: f.severity,
            state: AlertState::Firing,
            agent: f.agent.map(|x| x.to_string()),
            team: f.team.map(|x| x.to_string()),
            queue: f.queue.map(|x| x.to_string()),
            source: f.source.map(|x| x.to_string()),
            component: f.component.map(|x| x.to_string()),
            started_at: f.started_at,
            updated_at: now,
            resolved_at: None,
            acked_by: None,
            acked_at: None,
            ack_note: None,
            message: f.text.pick(self.language).to_owned(),
            message_zh: f.text.zh.clone(),
            message_en: f.text.en.clone(),
            fired_severity: f.severity,
            value: f.value,
            threshold: f.threshold,
            notified_at: Some(now),
            escalated: false,
        };
        self.ids.insert(rec.id.clone(), f.key.clone());
        self.open.insert(f.key, rec.clone());
        Some(rec)
    }

    async fn ack(
        &mut self,
        id: String,
        by: String,
        note: Option<String>,
    ) -> Result<Option<AlertRecord>, AlertsError> {
        let Some(key) = self.ids.get(&id).cloned() else {
            return match self.store.get_alert(id.clone()).await? {
                Some(a) if a.state == AlertState::Resolved => Err(AlertsError::Resolved(id)),
                Some(a) => Ok(Some(a)),
                None => Ok(None),
            };
        };
        let now = self.clock.now_ms();
        let Some(rec) = self.store.ack_alert(id, by, note, now).await? else { return Ok(None) };
        self.open.insert(key, rec.clone());
        let shared = Arc::new(rec.clone());
        self.announce(&shared);
        self.refresh_gauges();
        self.pass_down(vec![Change::Alert(shared)]).await;
        Ok(Some(rec))
    }

    /// Tells push sessions and notification receivers. Neither can block: the
    /// broadcast is lossy, and each receiver has its own bounded queue.
    fn announce(&self, rec: &Arc<AlertRecord>) {
        let _ = self.updates.send(rec.clone());
        if let Some(n) = &self.notifier {
            n.notify(&notice_of(rec));
        }
    }

    fn refresh_gauges(&self) {
        for k in Kind::ALL {
            let (mut firing, mut acked) = (0, 0);
            for (key, rec) in &self.open {
                if key.kind == k {
                    if rec.state == AlertState::Acknowledged {
                        acked += 1;
                    } else {
                        firing += 1;
                    }
                }
            }
            self.metrics.alerts_firing.with_label_values(&[k.as_str()]).set(firing);
            self.metrics.alerts_acknowledged.with_label_values(&[k.as_str()]).set(acked);
        }
    }
}

/// An alert as the notification receivers see it, both languages included.
pub(crate) fn notice_of(rec: &AlertRecord) -> Notice {
    Notice {
        id: rec.id.clone(),
        kind: NoticeKind::Alert(rec.kind),
        severity: rec.severity,
        fired_severity: rec.fired_severity,
        state: rec.state,
        agent: rec.agent.clone(),
        team: rec.team.clone(),
        queue: rec.queue.clone(),
        source: rec.source.clone(),
        component: rec.component.clone(),
        started_at_ms: rec.started_at,
        resolved_at_ms: rec.resolved_at,
        message_zh: rec.message_zh.clone(),
        message_en: rec.message_en.clone(),
        acked_by: rec.acked_by.clone(),
        escalated: rec.escalated,
    }
}

/// Marks as escalated, and returns, the critical alerts still unacknowledged
/// `renotify_ms` after they were last announced.
fn escalate_due(open: &mut FastMap<AlertKey, AlertRecord>, now: Ts, renotify_ms: i64) -> Vec<AlertRecord> {
    open.values_mut()
        .filter(|a| a.state == AlertState::Firing && a.severity == Severity::Critical)
        .filter(|a| now - a.notified_at.unwrap_or(a.updated_at) >= renotify_ms)
        .map(|a| {
            a.escalated = true;
            a.notified_at = Some(now);
            a.updated_at = now;
            a.clone()
        })
        .collect()
}

/// Ids go into URLs (`/api/alerts/{id}/ack`): kind, start time and a random
/// suffix, URL-safe and unique across restarts.
fn new_id(kind: Kind, started_at: Ts) -> String {
    format!("{}-{started_at}-{:04x}", kind.as_str(), rand::random::<u16>())
}

#[cfg(test)]
mod tests;
