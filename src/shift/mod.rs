//! The duty team's shift (issue 20): the roster and seat plan, the handover
//! sheet, patrols, overrun records for review and idle-time advice.
//!
//! Shape: beside the alerts, downstream of the engine. One task ([`spawn`])
//! reads the floor's snapshots and owns the patrol watch: once a second it
//! records the sign-ins of the shift's window (first login of each agent), checks
//! which teams on the floor have gone unpatrolled for longer than
//! `[shift] patrol_interval_mins` and raises or clears `patrol_overdue` for them
//! (as `Signal`s to the alert task, like the rules do), and makes a draft
//! overrun record of every committed `acw_overrun` / `busy_overrun` alert.
//! People's entries (roster, reasons, sign-offs, patrols, reviews) go straight to
//! the store from `http`, each answered after its COMMIT; a patrol is then
//! handed to this task ([`ShiftHandle::patrolled`]), which clears the team's alert.
//!
//! Never: reads a clock of its own (the daemon's `Clock` is passed in), reaches
//! upstream of the snapshot, or holds a lock across an await.

pub mod advice;
pub mod config;
pub mod handover;
pub mod patrol;
pub mod roster;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{DutyConfig, FloorPlan, RawDuty, RawFloorPlan};

use crate::clock::Clock;
use crate::event::{AgentState, Id, Ts};
use crate::floor::{Calendar, ShiftConfig, Snapshot};
use crate::rules::surge::{SurgeConfig, SurgeDetector};
use crate::rules::{Fire, Signal, Text};
use crate::store::StoreHandle;
use crate::store::shift::{OverrunDraft, Signin};
use crate::vocab::{AlertKey, Kind, Language, Severity, Subject};

/// How far back overrun alerts are looked for drafts: a week covers any restart.
const OVERRUN_LOOKBACK_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum ShiftError {
    #[error("shift store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("the shift task has stopped")]
    Stopped,
}

/// One occurrence of a shift, named as the roster names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftOccurrence {
    /// The local date the shift starts on.
    pub date: NaiveDate,
    pub name: String,
    pub start: Ts,
    pub end: Ts,
}

impl ShiftOccurrence {
    pub fn date_str(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }
}

/// The floor's shifts in its time zone.
#[derive(Debug, Clone)]
pub struct Shifts {
    tz: Tz,
    shifts: Vec<ShiftConfig>,
}

impl Shifts {
    pub fn new(tz: Tz, shifts: Vec<ShiftConfig>) -> Shifts {
        Shifts { tz, shifts }
    }

    pub fn names(&self) -> Vec<String> {
        self.shifts.iter().map(|s| s.name.clone()).collect()
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The occurrence of `name` that starts on local `date`.
    pub fn occurrence(&self, date: NaiveDate, name: &str) -> Option<ShiftOccurrence> {
        let s = self.shifts.iter().find(|s| s.name == name)?;
        let naive = date.and_hms_opt(s.start_minute / 60, s.start_minute % 60, 0)?;
        // Across a DST jump the start may not exist: the first valid instant after.
        let start = [0i64, 30, 60, 120]
            .iter()
            .find_map(|m| self.tz.from_local_datetime(&(naive + chrono::Duration::minutes(*m))).earliest())?;
        let start = start.timestamp_millis();
        let end = Calendar::new(self.tz, self.shifts.clone()).shift_at(start).end;
        Some(ShiftOccurrence { date, name: name.to_owned(), start, end })
    }

    /// The occurrence containing `ts`.
    pub fn at(&self, ts: Ts) -> ShiftOccurrence {
        let mut cal = Calendar::new(self.tz, self.shifts.clone());
        let span = cal.shift_at(ts);
        let date = self.tz.timestamp_millis_opt(span.start).single().map_or_else(
            || chrono::DateTime::from_timestamp_millis(ts).unwrap_or_default().date_naive(),
            |t| t.date_naive(),
        );
        ShiftOccurrence {
            date,
            name: cal.shift_name(span.index).to_owned(),
            start: span.start,
            end: span.end,
        }
    }
}

enum Cmd {
    Patrolled { team: String, at: Ts, reply: oneshot::Sender<()> },
    SyncOverruns { reply: oneshot::Sender<Result<(), ShiftError>> },
    Patrols { reply: oneshot::Sender<Vec<TeamPatrol>> },
}

/// A team's patrol standing, as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamPatrol {
    pub team: String,
    pub last_patrol: Option<Ts>,
    pub overdue: bool,
    /// Has agents logged in now.
    pub on_floor: bool,
}

/// Cheap to clone; the HTTP handlers hold one.
#[derive(Clone)]
pub struct ShiftHandle {
    cmd: mpsc::Sender<Cmd>,
    pub cfg: Arc<DutyConfig>,
    pub shifts: Arc<Shifts>,
    /// The learned traffic profiles the engine last handed out, for the advice;
    /// before its first hand-out, the ones loaded at start.
    pub baselines: watch::Receiver<Vec<(Id, String)>>,
    pub initial_baselines: Arc<Vec<(Id, String)>>,
    /// How the engine reads those profiles (their interval length).
    pub surge: SurgeConfig,
}

impl ShiftHandle {
    /// A patrol of `team` has been committed: its overdue alert, if raised, clears.
    pub async fn patrolled(&self, team: String, at: Ts) -> Result<(), ShiftError> {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(Cmd::Patrolled { team, at, reply }).await.map_err(|_| ShiftError::Stopped)?;
        rx.await.map_err(|_| ShiftError::Stopped)
    }

    /// Makes the drafts of every overrun alert committed so far, before a listing.
    pub async fn sync_overruns(&self) -> Result<(), ShiftError> {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(Cmd::SyncOverruns { reply }).await.map_err(|_| ShiftError::Stopped)?;
        rx.await.map_err(|_| ShiftError::Stopped)?
    }

    /// The learned traffic profile of each queue, as the engine last handed it out.
    pub fn profiles(&self) -> HashMap<String, SurgeDetector> {
        let latest = self.baselines.borrow().clone();
        let list = if latest.is_empty() { self.initial_baselines.as_ref().clone() } else { latest };
        list.into_iter()
            .filter_map(|(q, json)| {
                SurgeDetector::from_json(self.surge, self.shifts.tz, &json).map(|d| (q.to_string(), d))
            })
            .collect()
    }

    /// Every team the watch knows: its last patrol and whether it is overdue.
    pub async fn patrols(&self) -> Result<Vec<TeamPatrol>, ShiftError> {
        let (reply, rx) = oneshot::channel();
        self.cmd.send(Cmd::Patrols { reply }).await.map_err(|_| ShiftError::Stopped)?;
        rx.await.map_err(|_| ShiftError::Stopped)
    }
}

pub struct Shift {
    pub handle: ShiftHandle,
    pub task: JoinHandle<()>,
}

/// What the task is built from.
pub struct ShiftInputs {
    pub cfg: DutyConfig,
    pub shifts: Shifts,
    pub store: StoreHandle,
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    /// To the alert task (bounded, lossless; the rules' own channel).
    pub signals: mpsc::Sender<Vec<Signal>>,
    pub baselines: watch::Receiver<Vec<(Id, String)>>,
    pub initial_baselines: Vec<(Id, String)>,
    pub surge: SurgeConfig,
    pub clock: Clock,
    pub cancel: CancellationToken,
}

/// Loads the last patrols and starts the task; it ends at `cancel`.
pub async fn spawn(i: ShiftInputs) -> Result<Shift, ShiftError> {
    let last = i.store.last_patrols().await?;
    // Open `patrol_overdue` alerts of an earlier run: still ours to clear.
    let overdue: Vec<String> = i
        .store
        .open_alerts()
        .await?
        .into_iter()
        .filter(|a| a.kind == Kind::PatrolOverdue)
        .filter_map(|a| a.component)
        .collect();
    let (cmd, cmd_rx) = mpsc::channel(256);
    let cfg = Arc::new(i.cfg);
    let shifts = Arc::new(i.shifts);
    let state = State {
        cfg: cfg.clone(),
        shifts: shifts.clone(),
        store: i.store,
        snapshot: i.snapshot,
        signals: i.signals,
        clock: i.clock,
        watch: patrol::PatrolWatch::new(last, overdue),
        recorded: HashMap::new(),
        active: BTreeSet::new(),
    };
    let task = tokio::spawn(state.run(cmd_rx, i.cancel));
    let handle = ShiftHandle {
        cmd,
        cfg,
        shifts,
        baselines: i.baselines,
        initial_baselines: Arc::new(i.initial_baselines),
        surge: i.surge,
    };
    Ok(Shift { handle, task })
}

struct State {
    cfg: Arc<DutyConfig>,
    shifts: Arc<Shifts>,
    store: StoreHandle,
    snapshot: watch::Receiver<Arc<Snapshot>>,
    signals: mpsc::Sender<Vec<Signal>>,
    clock: Clock,
    watch: patrol::PatrolWatch,
    /// Sign-ins already written, per (date, shift), for the shifts in view: a
    /// lookup by the agent's id, so a look at a big floor allocates nothing.
    recorded: HashMap<(String, String), HashSet<Id>>,
    /// Teams with agents logged in at the last look.
    active: BTreeSet<String>,
}

impl State {
    async fn run(mut self, mut cmds: mpsc::Receiver<Cmd>, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {
                    n += 1;
                    self.look().await;
                    // Drafts every 5 s: the listing syncs on demand anyway.
                    if n % 5 == 0 && let Err(e) = self.sync_overruns().await {
                        tracing::warn!(error = %e, "overrun drafts not written");
                    }
                }
                cmd = cmds.recv() => match cmd {
                    None => break,
                    Some(Cmd::Patrolled { team, at, reply }) => {
                        if let Some(v) = self.watch.patrolled(&team, at) {
                            self.signal(vec![v], at).await;
                        }
                        let _ = reply.send(());
                    }
                    Some(Cmd::SyncOverruns { reply }) => {
                        let _ = reply.send(self.sync_overruns().await);
                    }
                    Some(Cmd::Patrols { reply }) => {
                        let _ = reply.send(self.standing());
                    }
                },
            }
        }
        tracing::info!("shift task stopped");
    }

    fn standing(&self) -> Vec<TeamPatrol> {
        let mut teams: BTreeSet<String> = self.active.clone();
        teams.extend(self.watch_teams());
        teams
            .into_iter()
            .map(|t| TeamPatrol {
                last_patrol: self.watch.last(&t),
                overdue: self.watch.is_overdue(&t),
                on_floor: self.active.contains(&t),
                team: t,
            })
            .collect()
    }

    fn watch_teams(&self) -> Vec<String> {
        self.snapshot.borrow().teams.iter().map(|t| t.id.to_string()).collect()
    }

    /// One look at the latest snapshot: sign-ins and patrols.
    async fn look(&mut self) {
        let now = self.clock.now_ms();
        let snap = self.snapshot.borrow().clone();
        let signins = self.signins(&snap, now);
        if !signins.is_empty() {
            let keys: Vec<((String, String), Id)> = signins
                .iter()
                .map(|s| ((s.date.clone(), s.shift.clone()), Id::from(s.agent.as_str())))
                .collect();
            match self.store.record_signins(signins).await {
                Ok(()) => {
                    for (k, agent) in keys {
                        self.recorded.entry(k).or_default().insert(agent);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "sign-ins not recorded"),
            }
        }
        self.active = snap
            .teams
            .iter()
            .filter(|t| t.agents_by_state.iter().sum::<u32>() > 0)
            .map(|t| t.id.to_string())
            .collect();
        let interval_ms =
            i64::try_from(self.cfg.patrol_interval_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let verdicts = self.watch.check(&self.active, now, interval_ms);
        if !verdicts.is_empty() {
            self.signal(verdicts, now).await;
        }
    }

    /// The sign-ins not yet written for the shift in progress and, within its
    /// early window, the next one: every agent logged in now, at its login time.
    fn signins(&mut self, snap: &Snapshot, now: Ts) -> Vec<Signin> {
        let current = self.shifts.at(now);
        let next = self.shifts.at(current.end);
        let early_ms = i64::from(self.cfg.signin_early_mins) * 60_000;
        let mut open = vec![current];
        if now >= next.start - early_ms {
            open.push(next);
        }
        let keys: Vec<(String, String)> = open.iter().map(|o| (o.date_str(), o.name.clone())).collect();
        // Forget the shifts no longer in view: the table stays one or two shifts big.
        self.recorded.retain(|k, _| keys.contains(k));
        let empty = HashSet::new();
        let seen: Vec<&HashSet<Id>> = keys.iter().map(|k| self.recorded.get(k).unwrap_or(&empty)).collect();
        let mut out = Vec::new();
        for a in &snap.agents {
            let (Some(_), Some(login)) = (a.state, a.login_at) else { continue };
            for ((date, shift), seen) in keys.iter().zip(&seen) {
                if seen.contains(&a.id) {
                    continue;
                }
                out.push(Signin {
                    date: date.clone(),
                    shift: shift.clone(),
                    agent: a.id.to_string(),
                    team: a.team.as_ref().map(ToString::to_string),
                    at: login,
                });
            }
        }
        out
    }

    async fn signal(&mut self, verdicts: Vec<patrol::Verdict>, now: Ts) {
        let batch: Vec<Signal> = verdicts
            .into_iter()
            .map(|v| match v {
                patrol::Verdict::Overdue { team, since, last_patrol } => Signal::Fire(Box::new(
                    overdue_fire(&team, since, last_patrol, now, self.cfg.patrol_interval_secs),
                )),
                patrol::Verdict::Patrolled { team } => Signal::Clear { key: overdue_key(&team), at: now },
            })
            .collect();
        if self.signals.send(batch).await.is_err() {
            tracing::warn!("alert task gone: patrol alerts not raised");
        }
    }

    async fn sync_overruns(&mut self) -> Result<(), ShiftError> {
        let now = self.clock.now_ms();
        let sources = self.store.overrun_sources(now - OVERRUN_LOOKBACK_MS).await?;
        if sources.is_empty() {
            return Ok(());
        }
        let snap = self.snapshot.borrow().clone();
        let reasons: HashMap<&str, &str> = snap
            .agents
            .iter()
            .filter(|a| a.state == Some(AgentState::NotReady))
            .filter_map(|a| a.reason.as_ref().map(|r| (a.id.as_str(), r.as_str())))
            .collect();
        let drafts = sources
            .into_iter()
            .map(|s| {
                let duration_secs = (s.resolved_at.unwrap_or(now) - s.started_at).max(0) / 1000;
                let reason = (s.kind == Kind::BusyOverrun)
                    .then(|| reasons.get(s.agent.as_str()).map(|r| (*r).to_owned()))
                    .flatten();
                OverrunDraft {
                    tier: self.cfg.tier(duration_secs, s.threshold_secs),
                    duration_secs,
                    reason,
                    source: s,
                }
            })
            .collect();
        self.store.write_overrun_drafts(drafts, now).await?;
        Ok(())
    }
}

/// The alert key of a team's overdue patrol.
pub fn overdue_key(team: &str) -> AlertKey {
    AlertKey { kind: Kind::PatrolOverdue, subject: Subject::Component(Id::from(team)) }
}

fn overdue_fire(team: &str, since: Ts, last_patrol: Option<Ts>, now: Ts, interval_secs: u64) -> Fire {
    let ago = now - since;
    let text = |l: Language| crate::rules::patrol_overdue(l, team, ago, last_patrol.is_some());
    Fire {
        key: overdue_key(team),
        severity: Severity::Warning,
        started_at: since,
        agent: None,
        // The team routes it to that team's lead (notify's team routing).
        team: Some(Id::from(team)),
        queue: None,
        source: None,
        component: Some(Id::from(team)),
        text: Text { zh: text(Language::ZhCn), en: text(Language::En) },
        value: Some(ago as f64 / 1000.0),
        threshold: Some(interval_secs as f64),
    }
}

#[cfg(test)]
mod tests;
