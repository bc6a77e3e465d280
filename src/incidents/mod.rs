//! Incidents: the floor's playbook when a surge (话务异动) or a fault (内、外部故障)
//! strikes — publish one unified reply script (统一应答口径) to every agent and the
//! wallboard, log the callers who could not be served for a call-back
//! (记录客户电话并安排回访), and keep the fault register (系统报障登记) with its
//! timeline.
//!
//! One task owns the open incidents. It takes, in order and losslessly, what the
//! alert task passes down (committed alert changes and lost callers) and the
//! supervisor's commands from HTTP (open by hand, edit and publish the script,
//! close). Every change is one [`Batch`] committed before anything is answered or
//! published. Scripts in force are published on a `watch` (latest value wins, so
//! a slow agent desktop always resyncs to the current script and never holds the
//! task up).
//!
//! Restart: open incidents, their scripts and open fault entries are loaded from
//! the store; the alerts that keep them open are matched again when they resolve.

pub mod config;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::alerts::Change;
use crate::clock::Clock;
use crate::event::Ts;
use crate::floor::Snapshot;
use crate::metrics::IncidentMetrics;
use crate::notify::{Notice, NoticeKind, Notifier};
use crate::rules::CallerLost;
use crate::store::incidents::{
    Audit, Batch, FaultFilter, FaultRecord, IncidentDetail, IncidentRecord, LinkedAlert, NewCallback,
    ScriptVersion, TimelineEntry,
};
use crate::store::{AlertRecord, StoreError, StoreHandle};
use crate::vocab::{AlertState, Kind, Language, Severity};
pub use config::{IncidentsConfig, Playbook, PlaybookKind, RawIncidentsConfig};

/// The actor name on the timeline for what the daemon did by itself.
const SYSTEM: &str = "floorwatch";

#[derive(Debug, thiserror::Error)]
pub enum IncidentsError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("the incidents task has stopped")]
    Stopped,
    #[error("no incident {0}")]
    NotFound(String),
    #[error("incident {0} is closed")]
    Closed(String),
    #[error("{0}")]
    Invalid(String),
}

/// A script in force: what agents say now, for one open incident.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveScript {
    pub incident: String,
    pub kind: String,
    pub title: String,
    pub queue: Option<String>,
    pub component: Option<String>,
    pub version: u32,
    pub text_zh: String,
    pub text_en: String,
    pub published_at: Ts,
}

/// A supervisor opening an incident no alert shows (a bank system reported down
/// by phone).
#[derive(Debug, Clone, Default)]
pub struct ManualOpen {
    pub title: String,
    pub queue: Option<String>,
    pub component: Option<String>,
    pub script_zh: Option<String>,
    pub script_en: Option<String>,
    pub expected_recovery_mins: Option<u32>,
    /// Publish at once (default) or keep as a draft.
    pub publish: bool,
    pub by: String,
    pub detail: Option<String>,
}

/// A new script version and/or publishing one.
#[derive(Debug, Clone, Default)]
pub struct ScriptEdit {
    pub text_zh: Option<String>,
    pub text_en: Option<String>,
    pub publish: bool,
    pub by: String,
    pub detail: Option<String>,
}

enum Cmd {
    Open(ManualOpen, oneshot::Sender<Result<IncidentDetail, IncidentsError>>),
    Script(String, ScriptEdit, oneshot::Sender<Result<IncidentDetail, IncidentsError>>),
    Close {
        id: String,
        by: String,
        summary: Option<String>,
        detail: Option<String>,
        reply: oneshot::Sender<Result<IncidentDetail, IncidentsError>>,
    },
}

/// Cheap to clone; HTTP handlers hold one.
#[derive(Clone)]
pub struct IncidentsHandle {
    cmd: mpsc::Sender<Cmd>,
    scripts: watch::Receiver<Arc<Vec<LiveScript>>>,
    pub store: StoreHandle,
    pub cfg: Arc<IncidentsConfig>,
    clock: Clock,
    pub metrics: IncidentMetrics,
}

impl IncidentsHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, IncidentsError>>) -> Cmd,
    ) -> Result<T, IncidentsError> {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(make(reply)).await.map_err(|_| IncidentsError::Stopped)?;
        rx.await.map_err(|_| IncidentsError::Stopped)?
    }

    pub async fn open(&self, m: ManualOpen) -> Result<IncidentDetail, IncidentsError> {
        self.ask(|r| Cmd::Open(m, r)).await
    }

    pub async fn script(&self, id: String, e: ScriptEdit) -> Result<IncidentDetail, IncidentsError> {
        self.ask(|r| Cmd::Script(id, e, r)).await
    }

    pub async fn close(
        &self,
        id: String,
        by: String,
        summary: Option<String>,
        detail: Option<String>,
    ) -> Result<IncidentDetail, IncidentsError> {
        self.ask(|reply| Cmd::Close { id, by, summary, detail, reply }).await
    }

    /// The scripts in force now; `changed()` on the receiver wakes on every change.
    pub fn scripts(&self) -> watch::Receiver<Arc<Vec<LiveScript>>> {
        self.scripts.clone()
    }

    /// The daemon's clock, for the times of writes made outside the task.
    pub fn now_ms(&self) -> Ts {
        self.clock.now_ms()
    }
}

pub struct Incidents {
    pub handle: IncidentsHandle,
    pub task: JoinHandle<()>,
}

/// Loads open incidents and faults and starts the owner task.
pub async fn spawn(
    cfg: IncidentsConfig,
    store: StoreHandle,
    changes: mpsc::Receiver<Vec<Change>>,
    floor: watch::Receiver<Arc<Snapshot>>,
    clock: Clock,
    notifier: Option<Notifier>,
    metrics: IncidentMetrics,
) -> Result<Incidents, StoreError> {
    let cfg = Arc::new(cfg);
    let open = store.open_incidents().await?;
    let faults = store.list_faults(FaultFilter { open_only: true, since_ms: None, limit: 100_000 }).await?;
    let (scripts_tx, scripts) = watch::channel(Arc::new(Vec::new()));
    let mut state = State {
        cfg: cfg.clone(),
        store: store.clone(),
        floor,
        clock,
        open: BTreeMap::new(),
        by_alert: HashMap::new(),
        faults: HashMap::new(),
        scripts: scripts_tx,
        notifier,
        metrics: metrics.clone(),
    };
    for d in open {
        state.restore(d);
    }
    for f in faults {
        if let Some(alert) = f.alert_id.clone() {
            state.faults.insert(alert, f);
        }
    }
    state.publish_scripts();
    state.refresh_gauges();
    tracing::info!(open = state.open.len(), faults = state.faults.len(), "incidents restored from the store");
    let (cmd, cmd_rx) = mpsc::channel(64);
    let task = tokio::spawn(state.run(changes, cmd_rx));
    Ok(Incidents { handle: IncidentsHandle { cmd, scripts, store, cfg, clock, metrics }, task })
}

/// What the task keeps of an open incident.
struct Open {
    rec: IncidentRecord,
    scripts: Vec<ScriptVersion>,
    /// Alerts that opened it or keep it open (their playbook's kind and subject),
    /// and whether each has resolved.
    triggers: BTreeMap<String, bool>,
    /// Floor totals (offered, abandoned) when it opened, for the closing summary.
    totals_at_open: (u64, u64),
    /// Numbers logged for call-back (a number that rang twice counts once).
    callers_logged: std::collections::HashSet<String>,
}

impl Open {
    fn detail(&self, timeline: Vec<TimelineEntry>, alerts: Vec<LinkedAlert>) -> IncidentDetail {
        IncidentDetail { incident: self.rec.clone(), scripts: self.scripts.clone(), timeline, alerts }
    }
}

struct State {
    cfg: Arc<IncidentsConfig>,
    store: StoreHandle,
    floor: watch::Receiver<Arc<Snapshot>>,
    clock: Clock,
    open: BTreeMap<String, Open>,
    /// Alert id → the open incident it is linked to (trigger or related).
    by_alert: HashMap<String, String>,
    /// Alert id → the open fault entry it created.
    faults: HashMap<String, FaultRecord>,
    scripts: watch::Sender<Arc<Vec<LiveScript>>>,
    notifier: Option<Notifier>,
    metrics: IncidentMetrics,
}

/// The subject an alert's playbook groups by: one incident per kind and subject.
fn subject(a: &AlertRecord) -> Option<&str> {
    a.queue.as_deref().or(a.component.as_deref()).or(a.source.as_deref())
}

fn title(kind: Kind, subject: Option<&str>) -> String {
    let name = crate::rules::kind_title(kind);
    match subject {
        Some(s) => format!("{name}: {s}"),
        None => name,
    }
}

fn new_id(at: Ts) -> String {
    let t = chrono::DateTime::from_timestamp_millis(at).unwrap_or_default();
    format!("INC-{}-{:04x}", t.format("%Y%m%d-%H%M%S"), rand::random::<u16>())
}

impl State {
    async fn run(mut self, mut changes: mpsc::Receiver<Vec<Change>>, mut cmds: mpsc::Receiver<Cmd>) {
        let mut changes_open = true;
        loop {
            tokio::select! {
                batch = changes.recv(), if changes_open => match batch {
                    Some(batch) => self.on_changes(batch).await,
                    None => changes_open = false,
                },
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => self.on_cmd(cmd).await,
                    None if !changes_open => break,
                    None => {
                        while let Some(batch) = changes.recv().await {
                            self.on_changes(batch).await;
                        }
                        break;
                    }
                },
            }
        }
        tracing::info!(open = self.open.len(), "incidents task stopped");
    }

    fn restore(&mut self, d: IncidentDetail) {
        let id = d.incident.id.clone();
        let mut triggers = BTreeMap::new();
        for l in &d.alerts {
            if l.role == "trigger" {
                triggers.insert(l.alert_id.clone(), l.resolved_at.is_some());
            }
            if l.resolved_at.is_none() {
                self.by_alert.insert(l.alert_id.clone(), id.clone());
            }
        }
        let open = Open {
            rec: d.incident,
            scripts: d.scripts,
            triggers,
            // The counts before the restart are not known any more; the summary
            // then covers the time since.
            totals_at_open: self.totals(),
            callers_logged: Default::default(),
        };
        self.open.insert(id, open);
    }

    /// (offered, abandoned) on the whole floor since the daemon started.
    fn totals(&self) -> (u64, u64) {
        let snap = self.floor.borrow();
        snap.queues.iter().fold((0, 0), |(o, a), q| (o + q.offered_total, a + q.abandoned_total))
    }

    async fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.store.write_incidents(batch).await
    }

    async fn on_changes(&mut self, changes: Vec<Change>) {
        let mut batch = Batch::default();
        let mut callers = Vec::new();
        let mut scripts_changed = false;
        for c in changes {
            match c {
                Change::Alert(a) => scripts_changed |= self.on_alert(&a, &mut batch),
                Change::CallerLost(c) => {
                    if let Some(e) = self.callback_for(&c) {
                        callers.push(e);
                    }
                }
            }
        }
        if let Err(e) = self.commit(batch).await {
            tracing::error!(error = %e, "cannot save incident changes");
        }
        if !callers.is_empty() {
            let n = callers.len();
            match self.store.log_lost_callers(callers).await {
                Ok(_) => {
                    self.metrics.callbacks.with_label_values(&["abandoned"]).inc_by(n as u64);
                    tracing::debug!(callers = n, "callers logged for call-back");
                }
                Err(e) => tracing::error!(error = %e, callers = n, "cannot log callers for call-back"),
            }
        }
        if scripts_changed {
            self.publish_scripts();
        }
        self.refresh_gauges();
    }

    /// Open incidents by kind and open faults, from the task's own state.
    fn refresh_gauges(&self) {
        self.metrics.open.reset();
        for p in &self.cfg.playbooks {
            self.metrics.open.with_label_values(&[p.kind.as_str()]);
        }
        for o in self.open.values() {
            self.metrics.open.with_label_values(&[o.rec.kind.as_str()]).inc();
        }
        self.metrics.faults_open.set(i64::try_from(self.faults.len()).unwrap_or(i64::MAX));
    }

    /// An alert changed. Returns whether a script went in or out of force.
    fn on_alert(&mut self, a: &AlertRecord, b: &mut Batch) -> bool {
        let now = self.clock.now_ms();
        if a.state == AlertState::Resolved {
            return self.on_resolved(a, now, b);
        }
        if let Some(inc) = self.by_alert.get(&a.id) {
            if a.state == AlertState::Acknowledged && a.acked_by.is_some() {
                b.timeline.push((
                    inc.clone(),
                    TimelineEntry {
                        ts: a.acked_at.unwrap_or(now),
                        what: "alert_acknowledged".into(),
                        actor: a.acked_by.clone().unwrap_or_default(),
                        detail: Some(format!("{} {}", a.id, a.ack_note.as_deref().unwrap_or(""))),
                    },
                ));
            }
            return false;
        }
        if a.state != AlertState::Firing {
            return false;
        }
        let mut published = false;
        let kind = PlaybookKind::Alert(a.kind);
        if let Some(pb) = self.cfg.playbook_for(kind, a.queue.as_deref(), a.component.as_deref()).cloned() {
            let subj = subject(a).map(str::to_owned);
            let existing = self
                .open
                .iter()
                .find(|(_, o)| {
                    o.rec.kind == a.kind.as_str()
                        && o.rec.state == "open"
                        && subj_of(&o.rec) == subj.as_deref()
                })
                .map(|(id, _)| id.clone());
            let mut notified = Vec::new();
            let id = match existing {
                Some(id) => {
                    b.timeline
                        .push((id.clone(), entry(now, "alert_linked", SYSTEM, Some(a.message.clone()))));
                    id
                }
                None => {
                    let (id, p, told) = self.open_from_alert(a, &pb, now, b);
                    published = p;
                    notified = told;
                    id
                }
            };
            if let Some(o) = self.open.get_mut(&id) {
                o.triggers.insert(a.id.clone(), false);
            }
            b.links.push((
                id.clone(),
                LinkedAlert {
                    alert_id: a.id.clone(),
                    role: "trigger".into(),
                    linked_at: now,
                    resolved_at: None,
                },
            ));
            self.by_alert.insert(a.id.clone(), id.clone());
            if matches!(a.kind, Kind::SystemFault | Kind::SourceDown) {
                self.open_fault(a, &id, now, &notified, b);
            }
        } else if let Some(id) = self.related_incident(a) {
            b.links.push((
                id.clone(),
                LinkedAlert {
                    alert_id: a.id.clone(),
                    role: "related".into(),
                    linked_at: now,
                    resolved_at: None,
                },
            ));
            b.timeline.push((id.clone(), entry(now, "alert_linked", SYSTEM, Some(a.message.clone()))));
            self.by_alert.insert(a.id.clone(), id);
        }
        published
    }

    /// The open incident a non-trigger alert belongs to: one on its queue, else
    /// a floor-wide one (a fault, a silent source, a manual incident).
    fn related_incident(&self, a: &AlertRecord) -> Option<String> {
        // One agent's overrun is the team lead's business, not the incident's.
        if a.agent.is_some() {
            return None;
        }
        let queue = a.queue.as_deref()?;
        self.covering(Some(queue))
    }

    /// The open incident that covers `queue`: the newest on that queue, else the
    /// newest floor-wide one (a fault, a silent source, a manual incident).
    fn covering(&self, queue: Option<&str>) -> Option<String> {
        let on_queue =
            self.open.iter().rev().find(|(_, o)| queue.is_some() && o.rec.queue.as_deref() == queue);
        let floor_wide = || self.open.iter().rev().find(|(_, o)| o.rec.queue.is_none());
        on_queue.or_else(floor_wide).map(|(id, _)| id.clone())
    }

    /// Why incident `id` cannot be changed: it is closed, or there is none.
    async fn not_open(&self, id: String) -> IncidentsError {
        match self.store.get_incident(id.clone()).await {
            Ok(Some(_)) => IncidentsError::Closed(id),
            Ok(None) => IncidentsError::NotFound(id),
            Err(e) => e.into(),
        }
    }

    /// Opens an incident for alert `a` under playbook `pb`; returns its id,
    /// whether its script was published (not left for the supervisor's approval)
    /// and the receivers told.
    fn open_from_alert(
        &mut self,
        a: &AlertRecord,
        pb: &Playbook,
        now: Ts,
        b: &mut Batch,
    ) -> (String, bool, Vec<String>) {
        let component = a.component.clone().or_else(|| a.source.clone());
        let rec = IncidentRecord {
            id: new_id(now),
            kind: a.kind.as_str().into(),
            state: "open".into(),
            title: title(a.kind, subject(a)),
            queue: a.queue.clone(),
            component: component.clone(),
            opened_at: now,
            opened_by: SYSTEM.into(),
            closed_at: None,
            closed_by: None,
            summary: None,
            expected_recovery_mins: Some(pb.expected_recovery_mins),
            published_version: 0,
        };
        let mut open = Open {
            rec,
            scripts: Vec::new(),
            triggers: BTreeMap::new(),
            totals_at_open: self.totals(),
            callers_logged: Default::default(),
        };
        let id = open.rec.id.clone();
        b.timeline.push((id.clone(), entry(now, "opened", SYSTEM, Some(a.message.clone()))));
        let script = ScriptVersion {
            version: 1,
            text_zh: self.cfg.render_in(
                &pb.script_zh,
                a.queue.as_deref(),
                component.as_deref(),
                pb.expected_recovery_mins,
                Language::ZhCn,
            ),
            text_en: self.cfg.render_in(
                &pb.script_en,
                a.queue.as_deref(),
                component.as_deref(),
                pb.expected_recovery_mins,
                Language::En,
            ),
            author: SYSTEM.into(),
            created_at: now,
            published_at: (!pb.approval).then_some(now),
        };
        let published = !pb.approval;
        if published {
            open.rec.published_version = 1;
            b.timeline.push((id.clone(), entry(now, "script_published", SYSTEM, Some("v1".into()))));
        } else {
            b.timeline.push((
                id.clone(),
                entry(now, "script_drafted", SYSTEM, Some("v1: awaiting the supervisor".into())),
            ));
        }
        b.scripts.push((id.clone(), script.clone()));
        open.scripts.push(script);
        b.incidents.push(open.rec.clone());
        let notified = self.notify(&open.rec, &pb.notify, open.scripts.last().filter(|_| published), b);
        self.metrics.opened.with_label_values(&[a.kind.as_str()]).inc();
        tracing::info!(incident = %id, kind = %a.kind, alert = %a.id, "incident opened");
        self.open.insert(id.clone(), open);
        (id, published, notified)
    }

    /// A fault register entry for alert `a`; `notified` are the receivers the
    /// incident told at once (maintenance's robot), recorded as the report.
    fn open_fault(&mut self, a: &AlertRecord, incident: &str, now: Ts, notified: &[String], b: &mut Batch) {
        let (offered, abandoned) = self.totals();
        let component = match (&a.component, &a.source) {
            (Some(c), _) => c.clone(),
            (None, Some(s)) => format!("source:{s}"),
            (None, None) => a.kind.as_str().into(),
        };
        let f = FaultRecord {
            id: format!("F-{}", a.id),
            component,
            origin: a.kind.as_str().into(),
            alert_id: Some(a.id.clone()),
            incident_id: Some(incident.to_owned()),
            detail: a.message.clone(),
            detected_at: a.started_at,
            reported_at: (!notified.is_empty()).then_some(now),
            reported_to: (!notified.is_empty()).then(|| notified.join(", ")),
            recovered_at: None,
            offered_before: offered,
            abandoned_before: abandoned,
            offered_during: None,
            abandoned_during: None,
            cause: None,
            resolution: None,
            updated_at: now,
        };
        b.timeline.push((incident.to_owned(), entry(now, "fault_registered", SYSTEM, Some(f.id.clone()))));
        b.new_faults.push(f.clone());
        self.faults.insert(a.id.clone(), f);
    }

    fn on_resolved(&mut self, a: &AlertRecord, now: Ts, b: &mut Batch) -> bool {
        let at = a.resolved_at.unwrap_or(now);
        if let Some(f) = self.faults.remove(&a.id) {
            let (offered, abandoned) = self.totals();
            let during =
                (offered.saturating_sub(f.offered_before), abandoned.saturating_sub(f.abandoned_before));
            b.recovered_faults.push((f.id.clone(), at, during.0, during.1));
            if let Some(inc) = &f.incident_id {
                let detail = format!("{}: {} offered, {} abandoned while down", f.id, during.0, during.1);
                b.timeline.push((inc.clone(), entry(now, "fault_recovered", SYSTEM, Some(detail))));
            }
        }
        let Some(id) = self.by_alert.remove(&a.id) else { return false };
        let Some(open) = self.open.get_mut(&id) else { return false };
        b.links.push((
            id.clone(),
            LinkedAlert {
                alert_id: a.id.clone(),
                role: if open.triggers.contains_key(&a.id) { "trigger" } else { "related" }.into(),
                linked_at: a.started_at,
                resolved_at: Some(at),
            },
        ));
        b.timeline.push((id.clone(), entry(now, "alert_resolved", SYSTEM, Some(a.message.clone()))));
        let Some(resolved) = open.triggers.get_mut(&a.id) else { return false };
        *resolved = true;
        // Recovery: every alert that opened it has cleared. Manual incidents stay
        // until the supervisor closes them.
        if open.rec.kind != PlaybookKind::MANUAL && open.triggers.values().all(|r| *r) {
            self.close(&id, SYSTEM, None, now, b);
            return true;
        }
        false
    }

    /// Closes incident `id` into `b`; the caller commits and republishes.
    fn close(&mut self, id: &str, by: &str, summary: Option<String>, now: Ts, b: &mut Batch) -> Option<Open> {
        let mut open = self.open.remove(id)?;
        let (offered, abandoned) = self.totals();
        let (o, a) =
            (offered.saturating_sub(open.totals_at_open.0), abandoned.saturating_sub(open.totals_at_open.1));
        let mins = (now - open.rec.opened_at).max(0) / 60_000;
        let auto = format!(
            "持续 {mins} 分钟，期间进线 {o} 通、放弃 {a} 通，登记回访 {} 个号码。Lasted {mins} min: {o} calls offered, {a} abandoned, {} callers logged for call-back.",
            open.callers_logged.len(),
            open.callers_logged.len()
        );
        open.rec.state = "closed".into();
        open.rec.closed_at = Some(now);
        open.rec.closed_by = Some(by.to_owned());
        open.rec.summary = Some(match summary {
            Some(s) if !s.trim().is_empty() => format!("{s}\n{auto}"),
            _ => auto,
        });
        self.by_alert.retain(|_, inc| inc != id);
        b.timeline.push((id.to_owned(), entry(now, "closed", by, open.rec.summary.clone())));
        b.incidents.push(open.rec.clone());
        // The record keeps the kind as text; it was written from a playbook's kind.
        let receivers = PlaybookKind::parse(&open.rec.kind)
            .and_then(|kind| {
                self.cfg.playbook_for(kind, open.rec.queue.as_deref(), open.rec.component.as_deref())
            })
            .map(|p| p.notify.clone())
            .unwrap_or_default();
        let _ = self.notify(&open.rec, &receivers, None, b);
        tracing::info!(incident = %id, by, "incident closed");
        Some(open)
    }

    /// The call-back entry for a lost caller, if an incident covers their queue.
    fn callback_for(&mut self, c: &CallerLost) -> Option<NewCallback> {
        let id = self.covering(c.queue.as_deref())?;
        if let Some(o) = self.open.get_mut(&id) {
            o.callers_logged.insert(c.caller.to_string());
        }
        Some(NewCallback {
            caller: c.caller.to_string(),
            incident_id: Some(id),
            queue: c.queue.as_ref().map(|q| q.to_string()),
            call_id: Some(c.call.to_string()),
            origin: "abandoned".into(),
            agent: None,
            note: None,
            at: c.at,
        })
    }

    async fn on_cmd(&mut self, cmd: Cmd) {
        self.on_cmd_inner(cmd).await;
        self.refresh_gauges();
    }

    async fn on_cmd_inner(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Open(m, reply) => {
                let r = self.open_manual(m).await;
                let _ = reply.send(r);
            }
            Cmd::Script(id, e, reply) => {
                let r = self.edit_script(id, e).await;
                let _ = reply.send(r);
            }
            Cmd::Close { id, by, summary, detail, reply } => {
                let r = self.close_by_hand(id, by, summary, detail).await;
                let _ = reply.send(r);
            }
        }
    }

    async fn open_manual(&mut self, m: ManualOpen) -> Result<IncidentDetail, IncidentsError> {
        let now = self.clock.now_ms();
        let pb = self
            .cfg
            .playbook_for(PlaybookKind::Manual, m.queue.as_deref(), m.component.as_deref())
            .cloned()
            .ok_or_else(|| IncidentsError::Invalid("no manual playbook configured".into()))?;
        let eta = m.expected_recovery_mins.unwrap_or(pb.expected_recovery_mins);
        let rec = IncidentRecord {
            id: new_id(now),
            kind: PlaybookKind::MANUAL.into(),
            state: "open".into(),
            title: m.title.clone(),
            queue: m.queue.clone(),
            component: m.component.clone(),
            opened_at: now,
            opened_by: m.by.clone(),
            closed_at: None,
            closed_by: None,
            summary: None,
            expected_recovery_mins: Some(eta),
            published_version: if m.publish { 1 } else { 0 },
        };
        let id = rec.id.clone();
        let (q, c) = (m.queue.as_deref(), m.component.as_deref().or(Some(m.title.as_str())));
        let script = ScriptVersion {
            version: 1,
            text_zh: m
                .script_zh
                .clone()
                .unwrap_or_else(|| self.cfg.render_in(&pb.script_zh, q, c, eta, Language::ZhCn)),
            text_en: m
                .script_en
                .clone()
                .unwrap_or_else(|| self.cfg.render_in(&pb.script_en, q, c, eta, Language::En)),
            author: m.by.clone(),
            created_at: now,
            published_at: m.publish.then_some(now),
        };
        let mut b = Batch::default();
        b.incidents.push(rec.clone());
        b.scripts.push((id.clone(), script.clone()));
        let mut timeline = vec![entry(now, "opened", &m.by, Some(m.title.clone()))];
        timeline.push(if m.publish {
            entry(now, "script_published", &m.by, Some("v1".into()))
        } else {
            entry(now, "script_drafted", &m.by, Some("v1".into()))
        });
        b.timeline.extend(timeline.iter().cloned().map(|t| (id.clone(), t)));
        b.audit.push(Audit {
            at: now,
            actor: m.by.clone(),
            action: "incident.open".into(),
            target: Some(id.clone()),
            detail: m.detail.clone(),
        });
        self.commit(b).await?;
        let open = Open {
            rec,
            scripts: vec![script],
            triggers: BTreeMap::new(),
            totals_at_open: self.totals(),
            callers_logged: Default::default(),
        };
        let detail = open.detail(timeline, Vec::new());
        self.metrics.opened.with_label_values(&["manual"]).inc();
        tracing::info!(incident = %id, by = %m.by, "incident opened by hand");
        self.open.insert(id, open);
        if m.publish {
            self.publish_scripts();
        }
        Ok(detail)
    }

    async fn edit_script(&mut self, id: String, e: ScriptEdit) -> Result<IncidentDetail, IncidentsError> {
        let now = self.clock.now_ms();
        let Some(open) = self.open.get(&id) else { return Err(self.not_open(id).await) };
        let latest = open.scripts.last().cloned();
        let mut b = Batch::default();
        let mut scripts = open.scripts.clone();
        let mut rec = open.rec.clone();
        if e.text_zh.is_some() || e.text_en.is_some() {
            let base = latest.clone();
            let version = base.as_ref().map_or(1, |s| s.version + 1);
            let s = ScriptVersion {
                version,
                text_zh: e
                    .text_zh
                    .clone()
                    .or_else(|| base.as_ref().map(|s| s.text_zh.clone()))
                    .unwrap_or_default(),
                text_en: e
                    .text_en
                    .clone()
                    .or_else(|| base.as_ref().map(|s| s.text_en.clone()))
                    .unwrap_or_default(),
                author: e.by.clone(),
                created_at: now,
                published_at: e.publish.then_some(now),
            };
            b.timeline.push((id.clone(), entry(now, "script_edited", &e.by, Some(format!("v{version}")))));
            b.scripts.push((id.clone(), s.clone()));
            scripts.push(s);
        } else if e.publish {
            // Publish the newest version as it stands (a draft awaiting approval).
            let Some(mut s) = latest else {
                return Err(IncidentsError::Invalid("no script to publish".into()));
            };
            s.published_at = Some(now);
            b.scripts.push((id.clone(), s.clone()));
            if let Some(last) = scripts.last_mut() {
                *last = s;
            }
        } else {
            return Err(IncidentsError::Invalid("give text_zh and/or text_en, or publish: true".into()));
        }
        if e.publish {
            rec.published_version = scripts.last().map_or(0, |s| s.version);
            b.timeline.push((
                id.clone(),
                entry(now, "script_published", &e.by, Some(format!("v{}", rec.published_version))),
            ));
        }
        b.incidents.push(rec.clone());
        b.audit.push(Audit {
            at: now,
            actor: e.by.clone(),
            action: "incident.script".into(),
            target: Some(id.clone()),
            detail: e.detail.clone(),
        });
        self.commit(b).await?;
        if let Some(open) = self.open.get_mut(&id) {
            open.rec = rec;
            open.scripts = scripts;
        }
        if e.publish {
            self.publish_scripts();
        }
        self.store.get_incident(id.clone()).await?.ok_or(IncidentsError::NotFound(id))
    }

    async fn close_by_hand(
        &mut self,
        id: String,
        by: String,
        summary: Option<String>,
        detail: Option<String>,
    ) -> Result<IncidentDetail, IncidentsError> {
        let now = self.clock.now_ms();
        if !self.open.contains_key(&id) {
            return Err(self.not_open(id).await);
        }
        let mut b = Batch::default();
        let Some(closed) = self.close(&id, &by, summary, now, &mut b) else {
            return Err(IncidentsError::NotFound(id));
        };
        b.audit.push(Audit {
            at: now,
            actor: by,
            action: "incident.close".into(),
            target: Some(id.clone()),
            detail,
        });
        if let Err(e) = self.commit(b).await {
            // Not committed: it is still open.
            self.open.insert(id.clone(), closed);
            return Err(e.into());
        }
        self.publish_scripts();
        self.store.get_incident(id.clone()).await?.ok_or(IncidentsError::NotFound(id))
    }

    /// Tells the supervisor and maintenance (the playbook's receivers, or every
    /// receiver whose `kinds` lists "incident") that incident `o` opened or
    /// closed, and notes on the timeline whom. Never waits: each receiver has its
    /// own queue.
    fn notify(
        &self,
        o: &IncidentRecord,
        notify: &[String],
        script: Option<&ScriptVersion>,
        b: &mut Batch,
    ) -> Vec<String> {
        let Some(n) = &self.notifier else { return Vec::new() };
        let closed = o.state == "closed";
        let (zh, en) = match (closed, script) {
            (true, _) => (
                format!("事件已结束：{}。{}", o.title, o.summary.as_deref().unwrap_or("")),
                format!("Incident closed: {}. {}", o.title, o.summary.as_deref().unwrap_or("")),
            ),
            (false, Some(s)) => (
                format!("事件：{}。统一应答口径：{}", o.title, s.text_zh),
                format!("Incident: {}. Unified reply: {}", o.title, s.text_en),
            ),
            (false, None) => (format!("事件：{}", o.title), format!("Incident: {}", o.title)),
        };
        let notice = Notice {
            id: o.id.clone(),
            kind: NoticeKind::Incident,
            severity: Severity::Critical,
            fired_severity: Severity::Critical,
            state: if closed { AlertState::Resolved } else { AlertState::Firing },
            agent: None,
            team: None,
            queue: o.queue.clone(),
            source: None,
            component: o.component.clone(),
            started_at_ms: o.opened_at,
            resolved_at_ms: o.closed_at,
            message_zh: zh,
            message_en: en,
            acked_by: None,
            escalated: false,
        };
        let sent =
            if notify.is_empty() { n.notify_subscribers(&notice) } else { n.notify_named(notify, &notice) };
        if !sent.is_empty() {
            let at = o.closed_at.unwrap_or(o.opened_at);
            b.timeline.push((o.id.clone(), entry(at, "notified", SYSTEM, Some(sent.join(", ")))));
        }
        sent
    }

    /// Publishes the scripts in force (one per open incident with a published
    /// version), newest incident first.
    fn publish_scripts(&self) {
        let live: Vec<LiveScript> = self
            .open
            .values()
            .rev()
            .filter_map(|o| {
                let s = o.scripts.iter().find(|s| s.version == o.rec.published_version && s.version > 0)?;
                Some(LiveScript {
                    incident: o.rec.id.clone(),
                    kind: o.rec.kind.clone(),
                    title: o.rec.title.clone(),
                    queue: o.rec.queue.clone(),
                    component: o.rec.component.clone(),
                    version: s.version,
                    text_zh: s.text_zh.clone(),
                    text_en: s.text_en.clone(),
                    published_at: s.published_at.unwrap_or(o.rec.opened_at),
                })
            })
            .collect();
        self.scripts.send_replace(Arc::new(live));
    }
}

fn subj_of(r: &IncidentRecord) -> Option<&str> {
    r.queue.as_deref().or(r.component.as_deref())
}

fn entry(ts: Ts, what: &str, actor: &str, detail: Option<String>) -> TimelineEntry {
    TimelineEntry { ts, what: what.into(), actor: actor.into(), detail }
}
