//! The JSON the API speaks. Floor types are mapped here rather than serialised
//! directly, so the state model can change without changing what clients read.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::event::{AgentState, Ts, format_ts};
use crate::floor::Snapshot;
use crate::floor::window::Tally;

pub struct FloorFilter<'a> {
    pub agents: bool,
    pub team: Option<&'a str>,
    pub queue: Option<&'a str>,
}

#[derive(Serialize)]
pub struct FloorDto<'a> {
    pub taken_at: String,
    pub events_applied: u64,
    pub shift: ShiftDto<'a>,
    /// Window labels, in the order used everywhere (`15m`, `60m`, `shift`).
    pub windows: Vec<&'a str>,
    pub logged_in: u32,
    pub agents_by_state: BTreeMap<&'static str, u32>,
    pub queues: Vec<QueueDto<'a>>,
    pub teams: Vec<TeamDto<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agents: Option<Vec<AgentDto<'a>>>,
    pub sources: Vec<SourceDto<'a>>,
    pub faults: Vec<FaultDto<'a>>,
}

#[derive(Serialize)]
pub struct ShiftDto<'a> {
    pub name: &'a str,
    pub start: String,
    pub end: String,
}

#[derive(Serialize)]
pub struct QueueDto<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub configured: bool,
    pub sl_threshold_secs: u32,
    pub sl_target: f64,
    pub short_abandon_secs: u32,
    pub sl_abandons: &'static str,
    /// Since the daemon started.
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub waiting: usize,
    pub longest_wait_secs: f64,
    pub waiting_calls: Vec<WaitingDto<'a>>,
    pub windows: BTreeMap<&'a str, WindowDto>,
}

#[derive(Serialize)]
pub struct WaitingDto<'a> {
    pub call: &'a str,
    pub since: String,
    pub wait_secs: f64,
}

#[derive(Serialize)]
pub struct WindowDto {
    pub offered: u32,
    pub answered: u32,
    pub abandoned: u32,
    pub abandoned_short: u32,
    pub answered_within_sl: u32,
    /// answered / (answered + abandoned − short abandons); null with no calls.
    pub answer_rate: Option<f64>,
    pub service_level: Option<f64>,
    pub asa_secs: Option<f64>,
    /// abandoned ÷ offered; null with no calls.
    pub abandon_rate: Option<f64>,
}

#[derive(Serialize)]
pub struct TeamDto<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub lead: Option<&'a str>,
    pub logged_in: u32,
    pub agents_by_state: BTreeMap<&'static str, u32>,
}

#[derive(Serialize)]
pub struct AgentDto<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    pub team: Option<&'a str>,
    pub state: &'static str,
    pub reason: Option<&'a str>,
    pub since: String,
    pub time_in_state_secs: f64,
    pub call: Option<&'a str>,
    pub queue: Option<&'a str>,
    pub login_at: Option<String>,
    pub handled_today: u32,
    pub talk_secs_today: f64,
    pub acw_secs_today: f64,
}

#[derive(Serialize)]
pub struct SourceDto<'a> {
    pub id: &'a str,
    pub connected: bool,
    pub connections: u32,
    pub events: u64,
    pub last_event_ts: Option<String>,
    pub silent_secs: f64,
}

#[derive(Serialize)]
pub struct FaultDto<'a> {
    pub component: &'a str,
    pub source: &'a str,
    pub since: String,
    pub detail: Option<&'a str>,
}

fn secs(ms: i64) -> f64 {
    ms.max(0) as f64 / 1000.0
}

fn by_state(counts: &[u32; 6]) -> BTreeMap<&'static str, u32> {
    AgentState::ALL.iter().map(|s| (s.as_str(), counts[s.index()])).collect()
}

fn window(t: &Tally, q: &crate::floor::QueueParams) -> WindowDto {
    WindowDto {
        offered: t.offered,
        answered: t.answered,
        abandoned: t.abandoned,
        abandoned_short: t.abandoned_short,
        answered_within_sl: t.answered_within_sl,
        answer_rate: t.answer_rate(),
        service_level: t.service_level(q),
        asa_secs: t.asa_secs(),
        abandon_rate: t.abandon_rate(),
    }
}

impl<'a> FloorDto<'a> {
    pub fn new(s: &'a Snapshot, f: &FloorFilter<'_>) -> FloorDto<'a> {
        let now: Ts = s.taken_at;
        let queues = s
            .queues
            .iter()
            .filter(|q| f.queue.is_none_or(|id| *q.id == *id))
            .map(|q| QueueDto {
                id: &q.id,
                name: &q.name,
                configured: q.configured,
                sl_threshold_secs: q.params.sl_threshold_secs,
                sl_target: q.params.sl_target,
                short_abandon_secs: q.params.short_abandon_secs,
                sl_abandons: q.params.sl_abandons.as_str(),
                offered: q.offered_total,
                answered: q.answered_total,
                abandoned: q.abandoned_total,
                waiting: q.waiting.len(),
                longest_wait_secs: secs(q.longest_wait_ms(now)),
                waiting_calls: q
                    .waiting
                    .iter()
                    .map(|w| WaitingDto {
                        call: &w.call,
                        since: format_ts(w.since),
                        wait_secs: secs(now - w.since),
                    })
                    .collect(),
                windows: s
                    .windows
                    .iter()
                    .zip(&q.windows)
                    .map(|(w, t)| (w.label.as_str(), window(t, &q.params)))
                    .collect(),
            })
            .collect();
        let teams = s
            .teams
            .iter()
            .filter(|t| f.team.is_none_or(|id| *t.id == *id))
            .map(|t| TeamDto {
                id: &t.id,
                name: &t.name,
                lead: t.lead.as_deref(),
                logged_in: t.agents_by_state.iter().sum(),
                agents_by_state: by_state(&t.agents_by_state),
            })
            .collect();
        let agents = f.agents.then(|| {
            let mut v: Vec<AgentDto<'_>> = s
                .agents
                .iter()
                .filter(|a| f.team.is_none_or(|t| a.team.as_deref() == Some(t)))
                .filter_map(|a| {
                    let state = a.state?;
                    Some(AgentDto {
                        id: &a.id,
                        name: a.name.as_deref(),
                        team: a.team.as_deref(),
                        state: state.as_str(),
                        reason: a.reason.as_deref(),
                        since: format_ts(a.since),
                        time_in_state_secs: secs(now - a.since),
                        call: a.call.as_deref(),
                        queue: a.queue.as_deref(),
                        login_at: a.login_at.map(format_ts),
                        handled_today: a.handled_today,
                        talk_secs_today: secs(a.talk_ms_today),
                        acw_secs_today: secs(a.acw_ms_today),
                    })
                })
                .collect();
            v.sort_unstable_by(|a, b| a.id.cmp(b.id));
            v
        });
        FloorDto {
            taken_at: format_ts(now),
            events_applied: s.events_applied,
            shift: ShiftDto {
                name: &s.shift.name,
                start: format_ts(s.shift.start),
                end: format_ts(s.shift.end),
            },
            windows: s.windows.iter().map(|w| w.label.as_str()).collect(),
            logged_in: s.agents_by_state.iter().sum(),
            agents_by_state: by_state(&s.agents_by_state),
            queues,
            teams,
            agents,
            sources: s
                .sources
                .iter()
                .map(|src| SourceDto {
                    id: &src.id,
                    connected: src.connections > 0,
                    connections: src.connections,
                    events: src.events,
                    last_event_ts: src.last_event_ts.map(format_ts),
                    silent_secs: secs(now - src.last_heard),
                })
                .collect(),
            faults: s
                .faults
                .iter()
                .map(|x| FaultDto {
                    component: &x.component,
                    source: &x.source,
                    since: format_ts(x.since),
                    detail: x.detail.as_deref(),
                })
                .collect(),
        }
    }
}

/// An alert as contract §5 shows it.
#[derive(Serialize)]
pub struct AlertDto<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub severity: &'a str,
    pub state: &'a str,
    pub subject: SubjectDto<'a>,
    pub started_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_note: Option<&'a str>,
    pub message: &'a str,
    /// Both languages (contract §8), so each screen shows its viewer's.
    pub messages: MessagesDto<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Re-notified to the duty supervisor: critical and unacknowledged too long.
    pub escalated: bool,
}

/// `{"zh-CN": "...", "en": "..."}`.
#[derive(Serialize)]
pub struct MessagesDto<'a> {
    #[serde(rename = "zh-CN")]
    pub zh: &'a str,
    pub en: &'a str,
}

#[derive(Serialize)]
pub struct SubjectDto<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<&'a str>,
}

impl<'a> From<&'a crate::store::AlertRecord> for AlertDto<'a> {
    fn from(a: &'a crate::store::AlertRecord) -> AlertDto<'a> {
        AlertDto {
            id: &a.id,
            kind: a.kind.as_str(),
            severity: a.severity.as_str(),
            state: a.state.as_str(),
            subject: SubjectDto {
                agent: a.agent.as_deref(),
                team: a.team.as_deref(),
                queue: a.queue.as_deref(),
                source: a.source.as_deref(),
                component: a.component.as_deref(),
            },
            started_at: format_ts(a.started_at),
            updated_at: format_ts(a.updated_at),
            resolved_at: a.resolved_at.map(format_ts),
            acknowledged_by: a.acked_by.as_deref(),
            acknowledged_at: a.acked_at.map(format_ts),
            ack_note: a.ack_note.as_deref(),
            message: &a.message,
            messages: MessagesDto { zh: &a.message_zh, en: &a.message_en },
            value: a.value,
            threshold: a.threshold,
            escalated: a.escalated,
        }
    }
}

// ---------------------------------------------------------------------------
// WS /ws/floor: the wallboard's stream (see http::floor_ws for the frames)
// ---------------------------------------------------------------------------

/// One agent as the wallboard sees it. Times are floor time in Unix milliseconds,
/// so the browser counts time in state on from `since` between updates. Kept to
/// what the pages show: at full ingest speed every agent changes in every update,
/// and this is most of the bytes sent to every screen.
#[derive(Serialize)]
pub struct WallAgentDto<'a> {
    pub id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<&'a str>,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    pub since: Ts,
    /// The queue of the current or last call (ACW limits can be per queue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<&'a str>,
    pub handled: u32,
}

impl<'a> WallAgentDto<'a> {
    /// `None` for an agent that is logged out.
    pub fn new(a: &'a crate::floor::Agent) -> Option<WallAgentDto<'a>> {
        Some(WallAgentDto {
            id: &a.id,
            name: a.name.as_deref(),
            team: a.team.as_deref(),
            state: a.state?.as_str(),
            reason: a.reason.as_deref(),
            since: a.since,
            queue: a.queue.as_deref(),
            handled: a.handled_today,
        })
    }
}

/// One queue as its wallboard tile needs it: the browser counts the longest wait
/// on from `oldest_since`.
#[derive(Serialize)]
pub struct WallQueueDto<'a> {
    pub id: &'a str,
    /// Position on the floor: configured queues first, in the config's order.
    pub order: usize,
    pub name: &'a str,
    pub sl_threshold_secs: u32,
    pub sl_target: f64,
    pub short_abandon_secs: u32,
    pub sl_abandons: &'static str,
    pub waiting: usize,
    pub oldest_since: Option<Ts>,
    pub windows: BTreeMap<&'a str, WindowDto>,
    /// Agents on this queue's calls now, and ready agents (any queue's).
    pub staffed: u32,
    pub available: u32,
    /// Offered per minute, the last 60 minutes, oldest first.
    pub trend: &'a [u32],
}

impl<'a> WallQueueDto<'a> {
    pub fn new(s: &'a Snapshot, order: usize, q: &'a crate::floor::snapshot::QueueView) -> WallQueueDto<'a> {
        WallQueueDto {
            id: &q.id,
            order,
            name: &q.name,
            sl_threshold_secs: q.params.sl_threshold_secs,
            sl_target: q.params.sl_target,
            short_abandon_secs: q.params.short_abandon_secs,
            sl_abandons: q.params.sl_abandons.as_str(),
            waiting: q.waiting.len(),
            oldest_since: q.waiting.first().map(|w| w.since),
            windows: s
                .windows
                .iter()
                .zip(&q.windows)
                .map(|(w, t)| (w.label.as_str(), window(t, &q.params)))
                .collect(),
            staffed: q.staffed,
            available: q.available,
            trend: &q.trend,
        }
    }
}

#[derive(Serialize)]
pub struct WallTeamDto<'a> {
    pub id: &'a str,
    /// Position on the floor: configured teams first, in the config's order.
    pub order: usize,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead: Option<&'a str>,
}

/// What changes with every snapshot: its time and the floor's totals.
#[derive(Serialize)]
pub struct WallHeadDto {
    pub taken_at: Ts,
    pub events_applied: u64,
    pub logged_in: u32,
    pub by_state: BTreeMap<&'static str, u32>,
    /// Average handle time today, every agent, seconds.
    pub aht_secs: Option<f64>,
}

impl WallHeadDto {
    pub fn new(s: &Snapshot) -> WallHeadDto {
        WallHeadDto {
            taken_at: s.taken_at,
            events_applied: s.events_applied,
            logged_in: s.agents_by_state.iter().sum(),
            by_state: by_state(&s.agents_by_state),
            aht_secs: s.aht_secs,
        }
    }
}

#[derive(Serialize)]
pub struct WallShiftDto<'a> {
    pub name: &'a str,
    pub start: Ts,
    pub end: Ts,
}

#[derive(Serialize)]
pub struct WallSourceDto<'a> {
    pub id: &'a str,
    pub connected: bool,
    pub last_heard: Ts,
}

#[derive(Serialize)]
pub struct WallFaultDto<'a> {
    pub component: &'a str,
    pub source: &'a str,
    pub since: Ts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
}

/// The settings the pages need: what to colour when, and the overrun limits the
/// alert rules use (so an agent turns red on the wall the second its alert is due).
#[derive(Serialize)]
pub struct WallConfigDto<'a> {
    pub title: &'a str,
    pub timezone: &'a str,
    pub window: &'a str,
    pub push_interval_ms: u64,
    /// `wallboard.agent_cells_max`: past this many agents the wall shows teams as summaries.
    pub agent_cells_max: u32,
    pub alerts_language: &'static str,
    pub thresholds: WallThresholdsDto,
    pub limits: WallLimitsDto<'a>,
    /// Every alert kind's name in both languages (`rules::kind_name`), so the pages
    /// keep no list of kinds of their own.
    pub kinds: BTreeMap<&'static str, KindNamesDto>,
    /// The window the queue alert rules count over (`alerts.queue_window_secs`,
    /// always one of the floor's), so a tile can show the rule's figure beside its own.
    pub rule_window: String,
    /// Display names per language of queues, teams and components, id → names.
    pub names: WallNamesDto<'a>,
}

#[derive(Serialize)]
pub struct WallNamesDto<'a> {
    pub queues: BTreeMap<&'a str, NamesDto<'a>>,
    pub teams: BTreeMap<&'a str, NamesDto<'a>>,
    pub components: BTreeMap<&'a str, NamesDto<'a>>,
}

/// `{"zh-CN": "...", "en": "..."}`, either left out when the config does not give it.
#[derive(Serialize)]
pub struct NamesDto<'a> {
    #[serde(rename = "zh-CN", skip_serializing_if = "Option::is_none")]
    pub zh: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub en: Option<&'a str>,
}

impl<'a> NamesDto<'a> {
    fn new(n: &'a crate::vocab::Names) -> NamesDto<'a> {
        NamesDto { zh: n.zh.as_deref(), en: n.en.as_deref() }
    }
}

#[derive(Serialize)]
pub struct KindNamesDto {
    #[serde(rename = "zh-CN")]
    pub zh_cn: &'static str,
    pub en: &'static str,
}

#[derive(Serialize)]
pub struct WallThresholdsDto {
    pub waiting_warn: u32,
    pub waiting_crit: u32,
    pub longest_wait_warn_secs: u32,
    pub longest_wait_crit_secs: u32,
    pub answer_rate_warn: f64,
    pub answer_rate_crit: f64,
    pub service_level_warn_margin: f64,
}

/// Overrun limits, seconds, looked up as the rules do: ACW by team, then by
/// queue, then the default; not ready by reason, then the default.
#[derive(Serialize)]
pub struct WallLimitsDto<'a> {
    pub acw_secs: u32,
    pub acw_secs_by_team: BTreeMap<&'a str, u32>,
    pub acw_secs_by_queue: BTreeMap<&'a str, u32>,
    pub busy_secs_by_reason: BTreeMap<&'a str, u32>,
    pub busy_default_secs: u32,
    pub critical_factor: f64,
}

impl<'a> WallConfigDto<'a> {
    pub fn new(
        w: &'a crate::wallboard::WallboardConfig,
        a: &'a crate::rules::AlertsConfig,
        floor: &'a crate::floor::FloorConfig,
        components: &'a BTreeMap<String, crate::vocab::Names>,
    ) -> WallConfigDto<'a> {
        let timezone = floor.timezone.name();
        let names = |it: &mut dyn Iterator<Item = (&'a str, &'a crate::vocab::Names)>| {
            it.filter(|(_, n)| !n.is_empty()).map(|(id, n)| (id, NamesDto::new(n))).collect()
        };
        let sorted = |m: &'a std::collections::HashMap<String, u32>| -> BTreeMap<&'a str, u32> {
            m.iter().map(|(k, v)| (k.as_str(), *v)).collect()
        };
        WallConfigDto {
            title: &w.title,
            timezone,
            window: &w.window,
            push_interval_ms: w.push_interval_ms,
            agent_cells_max: w.agent_cells_max,
            alerts_language: match a.language {
                crate::vocab::Language::ZhCn => "zh-CN",
                crate::vocab::Language::En => "en",
            },
            thresholds: WallThresholdsDto {
                waiting_warn: w.waiting_warn,
                waiting_crit: w.waiting_crit,
                longest_wait_warn_secs: w.longest_wait_warn_secs,
                longest_wait_crit_secs: w.longest_wait_crit_secs,
                answer_rate_warn: w.answer_rate_warn,
                answer_rate_crit: w.answer_rate_crit,
                service_level_warn_margin: w.service_level_warn_margin,
            },
            kinds: crate::vocab::Kind::ALL
                .into_iter()
                .map(|k| {
                    let name = |l| crate::rules::kind_name(k, l);
                    (
                        k.as_str(),
                        KindNamesDto {
                            zh_cn: name(crate::vocab::Language::ZhCn),
                            en: name(crate::vocab::Language::En),
                        },
                    )
                })
                .collect(),
            rule_window: crate::floor::config::window_label(a.queue_window_secs),
            names: WallNamesDto {
                queues: names(&mut floor.queues.iter().map(|q| (q.id.as_str(), &q.names))),
                teams: names(&mut floor.teams.iter().map(|t| (t.id.as_str(), &t.names))),
                components: names(&mut components.iter().map(|(id, n)| (id.as_str(), n))),
            },
            limits: WallLimitsDto {
                acw_secs: a.acw_overrun_secs,
                acw_secs_by_team: sorted(&a.acw_overrun_secs_by_team),
                acw_secs_by_queue: sorted(&a.acw_overrun_secs_by_queue),
                busy_secs_by_reason: sorted(&a.busy_limit_secs),
                busy_default_secs: a.busy_default_secs,
                critical_factor: a.critical_factor,
            },
        }
    }
}
