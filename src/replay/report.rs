//! The replay report: what the engine's step produced, gathered as it runs, and
//! its JSON (contract §1: `queues.<q>.offered/answered/abandoned…`, `alerts` as in
//! §5, and what a supervisor asks besides).
//!
//! Figures are the engine's own: the counts a step hands its counting task
//! ([`Counts`]) are tallied here exactly as the floor tallies its windows
//! (`floor::window::Tally`), per queue in total, per local day and per surge
//! interval. Alerts follow the live lifecycle (one open alert per kind and
//! subject: a second `Fire` updates it, a `Clear` resolves it).
//!
//! Incidents are kept simple, and the report says so: an alert whose kind and
//! queue or component have a playbook in the config (by default `traffic_surge`,
//! `system_fault`, `source_down`) opens one unless one of the same kind and
//! subject is open, which it joins; the incident closes when its last alert
//! resolves. Nobody acknowledges, scripts nothing, opens nothing by hand.
//!
//! The expected volume per interval (for the page's chart) comes from a shadow
//! [`SurgeDetector`] per queue, configured as the rules' one, fed the same offers
//! and asked once per interval, at its end: the rules ask theirs every sweep, so
//! a surge that a partial interval entered can make the two learn slightly
//! differently. It is the chart's line, not the alerts' judge.
//!
//! The report crosses to the outside world (a file a supervisor or a script
//! reads), so its DTOs are `Serialize` here, beside the one module that fills them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde::Serialize;

use super::{Format, Options, Origin};
use crate::config::Config;
use crate::event::{Id, Ts, format_ts};
use crate::floor::QueueParams;
use crate::floor::window::Tally;
use crate::incidents::{IncidentsConfig, PlaybookKind};
use crate::metrics::counting::{Counts, EffectTally as Counted};
use crate::rules::surge::{SurgeConfig, SurgeDetector};
use crate::rules::{AlertKey, Fire, Kind, Severity, Signal, Text};
use crate::vocab::About;
use crate::vocab::Language;

/// Intervals listed as the busiest and the worst, per queue.
const TOP: usize = 5;
/// Fewest calls (answered and counted abandons) for an interval to be "worst".
const WORST_MIN_CALLS: u32 = 5;

/// One queue's figures as the run goes.
struct QueueAcc {
    id: Id,
    params: QueueParams,
    total: Tally,
    days: BTreeMap<NaiveDate, Tally>,
    /// Per surge interval, from the collector's first interval.
    intervals: Vec<Tally>,
    expected: Vec<Option<f64>>,
    shadow: Option<SurgeDetector>,
    /// The next interval (absolute index) whose expectation is asked for.
    next_eval: i64,
}

/// An alert as raised, updated and resolved during the run.
struct AlertRow {
    id: String,
    fire: Fire,
    raised_at: Ts,
    resolved_at: Option<Ts>,
    incident: Option<usize>,
}

struct IncidentRow {
    kind: Kind,
    queue: Option<Id>,
    component: Option<Id>,
    opened_at: Ts,
    closed_at: Option<Ts>,
    alerts: Vec<usize>,
    open_alerts: usize,
    lost_callers: u64,
}

/// Gathers a replay's report from a step's counts and signals.
pub struct Collector {
    language: Language,
    tz: Tz,
    interval_ms: i64,
    /// Absolute index of the first interval (that of the first event).
    first_idx: i64,
    surge_cfg: SurgeConfig,
    queues: Vec<QueueAcc>,
    alerts: Vec<AlertRow>,
    open: HashMap<AlertKey, usize>,
    incidents: Vec<IncidentRow>,
    open_incidents: HashMap<(Kind, Option<Id>, Option<Id>), usize>,
    playbooks: IncidentsConfig,
    lost_callers: u64,
    /// `source_down` raised after the last event, left out (see `super`).
    dropped_at_end: u64,
}

/// What the driver knows at the end.
pub struct Ending<'a> {
    pub format: Format,
    pub origin: Origin,
    pub first: Ts,
    pub last: Ts,
    /// Stream time when the run stopped (the tail's end).
    pub end: Ts,
    pub applied: u64,
    pub opts: &'a Options,
}

impl Collector {
    pub fn new(cfg: &Config, first: Ts) -> Collector {
        // As `Rules::new` builds the rules' own detectors.
        let surge_cfg = SurgeConfig {
            interval_secs: cfg.alerts.surge_interval_secs,
            warmup_intervals: cfg.alerts.surge_warmup_intervals,
            min_calls: cfg.alerts.surge_min_calls,
            ..SurgeConfig::default()
        };
        let interval_ms = i64::from(surge_cfg.interval_secs.max(1)) * 1000;
        Collector {
            language: cfg.alerts.language,
            tz: cfg.floor.timezone,
            interval_ms,
            first_idx: first.div_euclid(interval_ms),
            surge_cfg,
            queues: Vec::new(),
            alerts: Vec::new(),
            open: HashMap::new(),
            incidents: Vec::new(),
            open_incidents: HashMap::new(),
            playbooks: cfg.incidents.clone(),
            lost_callers: 0,
            dropped_at_end: 0,
        }
    }

    /// Tallies one round's counts at stream time `now` (a batch's counts all
    /// belong to its time: replay batches are one timestamp each).
    pub fn on_counts(&mut self, counts: Counts, now: Ts) {
        let day = DateTime::from_timestamp_millis(now).map(|t| t.with_timezone(&self.tz).date_naive());
        let slot = usize::try_from(now.div_euclid(self.interval_ms) - self.first_idx).ok();
        for t in counts.tallies {
            let q = match &t {
                Counted::QueueAdded(b) => {
                    let (idx, id, params) = &**b;
                    // Queues are numbered in order of appearance, from 0.
                    if *idx == self.queues.len() {
                        self.queues.push(QueueAcc {
                            id: id.clone(),
                            params: *params,
                            total: Tally::default(),
                            days: BTreeMap::new(),
                            intervals: Vec::new(),
                            expected: Vec::new(),
                            shadow: None,
                            next_eval: 0,
                        });
                    }
                    continue;
                }
                Counted::Offered(q) | Counted::Answered(q) | Counted::Abandoned(q) => *q,
                Counted::Wait { queue, .. } => *queue,
                Counted::Anomaly(_) | Counted::Work(_) => continue,
            };
            let Some(acc) = self.queues.get_mut(q) else { continue };
            let (sl_ms, short_ms) = (
                i64::from(acc.params.sl_threshold_secs) * 1000,
                i64::from(acc.params.short_abandon_secs) * 1000,
            );
            // The same bookkeeping as the floor's windows (`floor::calls`).
            let bump = |x: &mut Tally| match t {
                Counted::Offered(_) => x.offered += 1,
                Counted::Answered(_) => x.answered += 1,
                Counted::Abandoned(_) => x.abandoned += 1,
                Counted::Wait { answered: true, ms, .. } => {
                    x.answered_with_wait += 1;
                    x.answered_wait_ms += u64::try_from(ms).unwrap_or(0);
                    if ms <= sl_ms {
                        x.answered_within_sl += 1;
                    }
                }
                Counted::Wait { answered: false, ms, .. } => {
                    if ms < short_ms {
                        x.abandoned_short += 1;
                    } else if ms <= sl_ms {
                        x.abandoned_within_sl += 1;
                    }
                }
                _ => {}
            };
            bump(&mut acc.total);
            if let Some(d) = day {
                bump(acc.days.entry(d).or_default());
            }
            if let Some(s) = slot {
                if acc.intervals.len() <= s {
                    acc.intervals.resize(s + 1, Tally::default());
                }
                bump(&mut acc.intervals[s]);
            }
            if matches!(t, Counted::Offered(_)) {
                let (cfg, tz) = (self.surge_cfg, self.tz);
                let shadow = acc.shadow.get_or_insert_with(|| SurgeDetector::new(cfg, tz));
                if acc.next_eval == 0 {
                    acc.next_eval = now.div_euclid(self.interval_ms);
                }
                shadow.offered(now);
            }
        }
    }

    /// Stream time has reached `now`: asks each shadow detector for the
    /// expectation of every interval that has ended.
    pub fn advance(&mut self, now: Ts) {
        let ims = self.interval_ms;
        for acc in &mut self.queues {
            let Some(shadow) = acc.shadow.as_mut() else { continue };
            while (acc.next_eval + 1) * ims < now {
                // Just after its end, within the detector's grace: the ended
                // interval is judged in full.
                let v = shadow.evaluate((acc.next_eval + 1) * ims + 1);
                if let Ok(s) = usize::try_from(acc.next_eval - self.first_idx) {
                    if acc.expected.len() <= s {
                        acc.expected.resize(s + 1, None);
                    }
                    acc.expected[s] = v.map(|v| v.expected);
                }
                acc.next_eval += 1;
            }
        }
    }

    /// Follows the alert lifecycle through `signals`, taken at stream time `now`;
    /// `tail`: past the last event.
    pub fn on_signals(&mut self, signals: Vec<Signal>, now: Ts, tail: bool) {
        for s in signals {
            match s {
                Signal::Fire(f) => {
                    if let Some(&i) = self.open.get(&f.key) {
                        self.alerts[i].fire = *f;
                        continue;
                    }
                    if tail && f.key.kind == Kind::SourceDown {
                        self.dropped_at_end += 1;
                        continue;
                    }
                    let i = self.alerts.len();
                    self.open.insert(f.key.clone(), i);
                    let incident = self.incident_for(&f, i, now);
                    let id = format!("R{:05}", i + 1);
                    self.alerts.push(AlertRow { id, fire: *f, raised_at: now, resolved_at: None, incident });
                }
                Signal::Clear { key, at } => {
                    let Some(i) = self.open.remove(&key) else { continue };
                    let a = &mut self.alerts[i];
                    a.resolved_at = Some(at);
                    if let Some(n) = a.incident {
                        let inc = &mut self.incidents[n];
                        inc.open_alerts -= 1;
                        if inc.open_alerts == 0 {
                            inc.closed_at = Some(at);
                            self.open_incidents.retain(|_, v| *v != n);
                        }
                    }
                }
                Signal::CallerLost(c) => {
                    self.lost_callers += 1;
                    // Logged for a call-back by every open incident of its queue,
                    // or of the whole floor (a fault, a source).
                    for &n in self.open_incidents.values() {
                        let inc = &mut self.incidents[n];
                        if inc.queue.is_none() || inc.queue == c.queue {
                            inc.lost_callers += 1;
                        }
                    }
                }
            }
        }
    }

    /// The incident alert `i` opens or joins, if its playbook says so.
    fn incident_for(&mut self, f: &Fire, i: usize, now: Ts) -> Option<usize> {
        let kind = f.key.kind;
        self.playbooks.playbook_for(PlaybookKind::Alert(kind), f.queue.as_deref(), f.component.as_deref())?;
        let key = (kind, f.queue.clone(), f.component.clone());
        let n = *self.open_incidents.entry(key).or_insert_with(|| {
            self.incidents.push(IncidentRow {
                kind,
                queue: f.queue.clone(),
                component: f.component.clone(),
                opened_at: now,
                closed_at: None,
                alerts: Vec::new(),
                open_alerts: 0,
                lost_callers: 0,
            });
            self.incidents.len() - 1
        });
        let inc = &mut self.incidents[n];
        inc.alerts.push(i);
        inc.open_alerts += 1;
        Some(n)
    }

    /// The report.
    pub fn finish(self, e: Ending<'_>) -> Report {
        let ims = self.interval_ms;
        let start_ms = self.first_idx * ims;
        let language = self.language;
        let alerts: Vec<AlertDto> = self
            .alerts
            .iter()
            .map(|a| {
                let f = &a.fire;
                AlertDto {
                    id: a.id.clone(),
                    kind: f.key.kind.as_str(),
                    severity: f.severity.as_str(),
                    state: if a.resolved_at.is_some() { "resolved" } else { "firing" },
                    subject: SubjectDto {
                        agent: f.agent.as_ref().map(Id::to_string),
                        team: f.team.as_ref().map(Id::to_string),
                        queue: f.queue.as_ref().map(Id::to_string),
                        source: f.source.as_ref().map(Id::to_string),
                        component: f.component.as_ref().map(Id::to_string),
                    },
                    started_at: format_ts(f.started_at),
                    raised_at: format_ts(a.raised_at),
                    resolved_at: a.resolved_at.map(format_ts),
                    message: f.text.pick(language).to_owned(),
                    messages: Messages::of(&f.text),
                    value: f.value,
                    threshold: f.threshold,
                }
            })
            .collect();
        let mut alerts_by_kind: BTreeMap<&'static str, u64> =
            Kind::ALL.iter().map(|k| (k.as_str(), 0)).collect();
        for a in &self.alerts {
            *alerts_by_kind.entry(a.fire.key.kind.as_str()).or_insert(0) += 1;
        }
        let incidents = self
            .incidents
            .iter()
            .enumerate()
            .map(|(n, inc)| IncidentDto {
                id: format!("I{:04}", n + 1),
                kind: inc.kind.as_str(),
                state: if inc.closed_at.is_some() { "closed" } else { "open" },
                queue: inc.queue.as_ref().map(Id::to_string),
                component: inc.component.as_ref().map(Id::to_string),
                opened_at: format_ts(inc.opened_at),
                closed_at: inc.closed_at.map(format_ts),
                alerts: inc.alerts.iter().map(|&i| self.alerts[i].id.clone()).collect(),
                lost_callers: inc.lost_callers,
            })
            .collect();

        let mut queues = BTreeMap::new();
        let mut charts = Vec::new();
        for acc in &self.queues {
            if acc.total.offered == 0 && acc.total.answered == 0 && acc.total.abandoned == 0 {
                // A configured queue this file never used.
                continue;
            }
            let p = &acc.params;
            let interval = |s: usize| {
                let t = &acc.intervals[s];
                let from = start_ms + s as i64 * ims;
                IntervalDto {
                    start: format_ts(from),
                    end: format_ts(from + ims),
                    offered: t.offered,
                    expected: acc.expected.get(s).copied().flatten(),
                    answered: t.answered,
                    abandoned: t.abandoned,
                    answer_rate: t.answer_rate(),
                    service_level: t.service_level(p),
                }
            };
            let mut by_volume: Vec<usize> =
                (0..acc.intervals.len()).filter(|&s| acc.intervals[s].offered > 0).collect();
            by_volume.sort_by_key(|&s| (std::cmp::Reverse(acc.intervals[s].offered), s));
            let mut by_rate: Vec<(f64, usize)> = (0..acc.intervals.len())
                .filter_map(|s| {
                    let t = &acc.intervals[s];
                    let calls = t.answered + t.abandoned.saturating_sub(t.abandoned_short);
                    (calls >= WORST_MIN_CALLS).then_some((t.answer_rate()?, s))
                })
                .collect();
            by_rate.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let days = acc
                .days
                .iter()
                .map(|(d, t)| DayDto {
                    date: d.to_string(),
                    offered: t.offered,
                    answered: t.answered,
                    abandoned: t.abandoned,
                    answer_rate: t.answer_rate(),
                    service_level: t.service_level(p),
                    asa_secs: t.asa_secs(),
                })
                .collect();
            let t = &acc.total;
            let qr = QueueReport {
                offered: u64::from(t.offered),
                answered: u64::from(t.answered),
                abandoned: u64::from(t.abandoned),
                abandoned_short: u64::from(t.abandoned_short),
                answer_rate: t.answer_rate(),
                service_level: t.service_level(p),
                asa_secs: t.asa_secs(),
                sl_threshold_secs: p.sl_threshold_secs,
                sl_target: p.sl_target,
                days,
                busiest: by_volume.iter().take(TOP).map(|&s| interval(s)).collect(),
                worst: by_rate.iter().take(TOP).map(|&(_, s)| interval(s)).collect(),
            };
            let marks = self
                .alerts
                .iter()
                .filter(|a| a.fire.key.kind.about() != About::Agent)
                .filter(|a| a.fire.queue.is_none() || a.fire.queue.as_ref() == Some(&acc.id))
                .map(|a| Mark {
                    at: a.raised_at,
                    until: a.resolved_at,
                    kind: a.fire.key.kind,
                    severity: a.fire.severity,
                    id: a.id.clone(),
                    title: Messages::of(&a.fire.text),
                })
                .collect();
            charts.push(Chart {
                queue: acc.id.to_string(),
                start_ms,
                interval_ms: ims,
                offered: acc.intervals.iter().map(|t| t.offered).collect(),
                expected: acc.expected.clone(),
                marks,
                busiest: by_volume.iter().take(TOP).copied().collect(),
                worst: by_rate.iter().take(TOP).map(|&(_, s)| s).collect(),
            });
            queues.insert(acc.id.to_string(), qr);
        }

        let mut notes = vec![Note {
            key: "incidents",
            en: "Incidents are those the config's playbooks would have opened: an alert of a kind with a \
                 playbook (by default traffic_surge, system_fault, source_down) opens one unless one of \
                 the same kind and subject is open; it closes when its last alert resolves. Nobody \
                 acknowledges or opens anything by hand in a replay."
                .into(),
            zh: "事件为配置的预案会开启的事件：有预案的告警类型（默认 traffic_surge、system_fault、source_down）\
                 的告警开启一个事件，若已有同类型同对象的事件未关闭则并入；其最后一条告警解除时关闭。回放中无人确认，\
                 也无人手动开启事件。"
                .into(),
        }];
        notes.push(Note {
            key: "tail",
            en: format!(
                "Stream time ran on for {} s after the last event, so timers then pending still fire; \
                 source_down raised after the last event is left out ({} alert(s)): the end of the file is \
                 not a source going down.",
                e.opts.tail_ms / 1000,
                self.dropped_at_end
            ),
            zh: format!(
                "最后一个事件之后回放时间继续走了 {} 秒，届时未到期的计时器照常触发；最后一个事件之后产生的 \
                 source_down 不计入（{} 条）：文件结束不是数据源中断。",
                e.opts.tail_ms / 1000,
                self.dropped_at_end
            ),
        });
        if !e.opts.judge_sources {
            notes.push(Note {
                key: "sources",
                en: "The data has no heartbeats, so a source's silence is not judged: no source_down.".into(),
                zh: "数据中没有心跳，不判断数据源静默：不产生 source_down。".into(),
            });
        }
        if e.opts.presence_inferred {
            notes.push(Note {
                key: "stuck_dispatcher",
                en: "Agent presence (login, ready, after-call work, logout) is inferred from the calls, not \
                     in the data: an agent between two calls of a session counts as ready, for every queue \
                     (the floor knows no skills). The stuck-dispatcher signature (calls offered, none \
                     answered, agents ready) takes those ready agents as its evidence, so it is off: on \
                     this data it would report a fault whenever a small queue's callers waited while \
                     agents of another queue were between calls."
                    .into(),
                zh: "坐席在线状态（签入、空闲、话后处理、签出）由通话推断，数据中没有：同一班段两通电话之间的坐席\
                     按空闲计，且对所有队列都算（系统不知道技能组）。调度卡死特征（有来电、无人接听、有空闲坐席）\
                     以这些空闲坐席为依据，因此关闭：在此数据上，只要小队列的来电在等待、而别的队列的坐席恰在两通电话之间，\
                     它就会报故障。"
                    .into(),
            });
        }
        let (data_set, canonical, inferences) = match e.origin {
            Origin::AnonymousBank(r) => {
                let inferences = r
                    .inferences
                    .iter()
                    .map(|i| Note { key: i.key, en: i.en.to_owned(), zh: i.zh.to_owned() })
                    .collect();
                let queues = r
                    .totals
                    .iter()
                    .map(|(s, f)| {
                        (
                            s.queue_id(),
                            DataSetQueue {
                                name: Messages { zh: s.name_zh().to_owned(), en: s.name_en().to_owned() },
                                offered: f.offered,
                                answered: f.answered,
                                abandoned: f.abandoned,
                                ivr_abandoned: f.ivr_abandoned,
                                phantoms: f.phantoms,
                            },
                        )
                    })
                    .collect();
                let inf = r.inferred;
                let ds = DataSet {
                    rows: r.rows,
                    phantoms: r.phantoms,
                    rejected_rows: r
                        .rejected_by_reason()
                        .into_iter()
                        .map(|(k, v)| (k.as_label(), v))
                        .collect(),
                    queues,
                    inferred: InferredDto {
                        agents: inf.agents,
                        sessions: inf.sessions,
                        acw_spans: inf.acw_spans,
                        acw_mean_secs: (inf.acw_spans > 0)
                            .then(|| inf.acw_total_ms as f64 / 1000.0 / inf.acw_spans as f64),
                        acw_longest_secs: inf.acw_longest_ms as f64 / 1000.0,
                        no_server_calls: inf.no_server_calls,
                    },
                };
                (Some(ds), None, inferences)
            }
            Origin::Canonical(c) => {
                let dto = CanonicalDto {
                    lines: c.lines,
                    rejected: c.rejected.clone(),
                    duplicates: c.duplicates,
                    seq_gaps: c.gaps,
                };
                (None, Some(dto), Vec::new())
            }
        };
        let days = match (
            DateTime::from_timestamp_millis(e.first).map(|t| t.with_timezone(&self.tz).date_naive()),
            DateTime::from_timestamp_millis(e.last).map(|t| t.with_timezone(&self.tz).date_naive()),
        ) {
            (Some(a), Some(b)) => (b - a).num_days() + 1,
            _ => 0,
        };
        Report {
            format: e.format.as_str(),
            period: Period {
                from: format_ts(e.first),
                to: format_ts(e.last),
                replayed_to: format_ts(e.end),
                timezone: self.tz.name().to_owned(),
                days,
            },
            events: EventsDto { applied: e.applied },
            queues,
            alerts,
            alerts_by_kind,
            incidents,
            lost_callers: self.lost_callers,
            inferences,
            notes,
            data_set,
            canonical,
            charts,
        }
    }
}

/// The JSON report (see the module docs; `charts` is for the HTML page only).
#[derive(Debug, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub period: Period,
    pub events: EventsDto,
    pub queues: BTreeMap<String, QueueReport>,
    pub alerts: Vec<AlertDto>,
    /// Alerts raised, by kind (every kind listed).
    pub alerts_by_kind: BTreeMap<&'static str, u64>,
    pub incidents: Vec<IncidentDto>,
    /// Callers who hung up unanswered with their number known (call-back candidates).
    pub lost_callers: u64,
    /// What the reader inferred beyond the data (anonymous-bank).
    pub inferences: Vec<Note>,
    /// What the replay itself assumed.
    pub notes: Vec<Note>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_set: Option<DataSet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical: Option<CanonicalDto>,
    #[serde(skip)]
    pub charts: Vec<Chart>,
}

#[derive(Debug, Serialize)]
pub struct Period {
    /// The first and last event.
    pub from: String,
    pub to: String,
    /// Where stream time stopped (the tail after the last event).
    pub replayed_to: String,
    pub timezone: String,
    pub days: i64,
}

#[derive(Debug, Serialize)]
pub struct EventsDto {
    pub applied: u64,
}

#[derive(Debug, Serialize)]
pub struct QueueReport {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    /// Abandoned within the queue's short-abandon limit (left out of the rates).
    pub abandoned_short: u64,
    pub answer_rate: Option<f64>,
    pub service_level: Option<f64>,
    pub asa_secs: Option<f64>,
    pub sl_threshold_secs: u32,
    pub sl_target: f64,
    pub days: Vec<DayDto>,
    pub busiest: Vec<IntervalDto>,
    pub worst: Vec<IntervalDto>,
}

#[derive(Debug, Serialize)]
pub struct DayDto {
    /// Local date in the floor's time zone.
    pub date: String,
    pub offered: u32,
    pub answered: u32,
    pub abandoned: u32,
    pub answer_rate: Option<f64>,
    pub service_level: Option<f64>,
    pub asa_secs: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct IntervalDto {
    pub start: String,
    pub end: String,
    pub offered: u32,
    /// The learned expectation for the interval (none while still learning).
    pub expected: Option<f64>,
    pub answered: u32,
    pub abandoned: u32,
    pub answer_rate: Option<f64>,
    pub service_level: Option<f64>,
}

/// An alert as contract §5 shows it, plus when the replay raised it.
#[derive(Debug, Serialize)]
pub struct AlertDto {
    pub id: String,
    pub kind: &'static str,
    pub severity: &'static str,
    /// `resolved`, or `firing` if still open at the end.
    pub state: &'static str,
    pub subject: SubjectDto,
    pub started_at: String,
    /// Stream time at which the engine raised it.
    pub raised_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    /// In the configured language.
    pub message: String,
    pub messages: Messages,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct SubjectDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
}

/// Text in both languages, as contract §8's `messages`.
#[derive(Debug, Clone, Serialize)]
pub struct Messages {
    #[serde(rename = "zh-CN")]
    pub zh: String,
    pub en: String,
}

impl Messages {
    fn of(t: &Text) -> Messages {
        Messages { zh: t.zh.clone(), en: t.en.clone() }
    }
}

#[derive(Debug, Serialize)]
pub struct IncidentDto {
    pub id: String,
    pub kind: &'static str,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    pub opened_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    pub alerts: Vec<String>,
    /// Callers lost while it was open (its call-back list).
    pub lost_callers: u64,
}

/// A statement in both languages, keyed.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub key: &'static str,
    pub en: String,
    #[serde(rename = "zh-CN")]
    pub zh: String,
}

/// The Anonymous Bank file's own figures, beside the engine's.
#[derive(Debug, Serialize)]
pub struct DataSet {
    pub rows: u64,
    pub phantoms: u64,
    pub rejected_rows: BTreeMap<&'static str, u64>,
    pub queues: BTreeMap<&'static str, DataSetQueue>,
    pub inferred: InferredDto,
}

#[derive(Debug, Serialize)]
pub struct DataSetQueue {
    pub name: Messages,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    /// Hung up in the VRU: never offered to the floor.
    pub ivr_abandoned: u64,
    pub phantoms: u64,
}

#[derive(Debug, Serialize)]
pub struct InferredDto {
    pub agents: u64,
    pub sessions: u64,
    pub acw_spans: u64,
    pub acw_mean_secs: Option<f64>,
    pub acw_longest_secs: f64,
    pub no_server_calls: u64,
}

#[derive(Debug, Serialize)]
pub struct CanonicalDto {
    pub lines: u64,
    /// Events the decoder refused, by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    pub duplicates: u64,
    pub seq_gaps: u64,
}

/// One queue's timeline, for the page.
#[derive(Debug)]
pub struct Chart {
    pub queue: String,
    pub start_ms: Ts,
    pub interval_ms: i64,
    pub offered: Vec<u32>,
    pub expected: Vec<Option<f64>>,
    pub marks: Vec<Mark>,
    /// Interval positions of the busiest and the worst.
    pub busiest: Vec<usize>,
    pub worst: Vec<usize>,
}

/// An alert on a queue's timeline.
#[derive(Debug)]
pub struct Mark {
    pub at: Ts,
    pub until: Option<Ts>,
    pub kind: Kind,
    pub severity: Severity,
    pub id: String,
    pub title: Messages,
}
