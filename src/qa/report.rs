//! KPI reports over the call log and the agent state log: per agent, team and
//! queue, per day, week or month (in the floor's zone). Pure: the handler
//! passes the calls, the reviews, the agents' closed states, the overrun
//! records, each agent's team and each queue's service-level threshold.
//!
//! Figures, per group, over calls *offered* in the period:
//! - `offered`; `handled` (answered); `abandoned`; `answer_rate` = handled / offered;
//! - `aht_secs`: mean talk time (answer to end) of handled calls that ended;
//! - `asa_secs`: mean wait of handled calls;
//! - `service_level`: handled within the queue's `sl_threshold_secs` / offered;
//! - `qa_score`: mean score of the group's reviews made in the period.
//!
//! Agent time ([`AgentTime`]), per agent and team only, from the state log:
//! each closed state interval clipped to the period (an interval across
//! midnight counts its part on each side), a team's being the agent's team
//! when the state began. Queues have none: an agent serves several queues,
//! and ready or not-ready time belongs to no queue. A state still in progress
//! counts once it ends (the log holds closed intervals only).
//! - `logged_in_secs` (every state), `ready_secs`, `ringing_secs`, `talk_secs`,
//!   `hold_secs`, `acw_secs`, `not_ready_secs`, `not_ready_by_reason` (`""`:
//!   no reason given);
//! - `acw_share` = acw / (talk + hold + acw);
//! - `occupancy` = (talk + hold + acw + ringing) / (talk + hold + acw + ringing + ready)
//!   (not-ready time is outside both: an agent on a break is not available);
//! - `overruns`: overrun records (`acw_overrun`, `busy_overrun`) started in
//!   the period, by kind (the record's team for teams).
//!
//! A ratio whose denominator is zero is `None`.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, TimeZone};

use crate::event::AgentState;
use crate::store::agent_log::StateRow;
use crate::store::qa::{CallRow, ReviewRow};
use crate::store::shift::OverrunRecord;
use crate::vocab::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }

    /// `[from, to)` UTC ms of the period holding `date` in `tz` (a week starts
    /// on Monday).
    pub fn range(self, date: NaiveDate, tz: chrono_tz::Tz) -> Option<(i64, i64)> {
        let (start, end) = match self {
            Period::Day => (date, date + Duration::days(1)),
            Period::Week => {
                let s = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                (s, s + Duration::days(7))
            }
            Period::Month => {
                let s = date.with_day(1)?;
                let e = if s.month() == 12 {
                    NaiveDate::from_ymd_opt(s.year() + 1, 1, 1)?
                } else {
                    NaiveDate::from_ymd_opt(s.year(), s.month() + 1, 1)?
                };
                (s, e)
            }
        };
        let at = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).earliest().map(|t| t.timestamp_millis())
        };
        Some((at(start)?, at(end)?))
    }
}

/// Which kind of group a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum By {
    Agent,
    Team,
    Queue,
}

impl By {
    pub fn as_str(self) -> &'static str {
        match self {
            By::Agent => "agent",
            By::Team => "team",
            By::Queue => "queue",
        }
    }
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub by: By,
    pub id: String,
    pub offered: u32,
    pub handled: u32,
    pub abandoned: u32,
    pub answer_rate: Option<f64>,
    pub aht_secs: Option<f64>,
    pub asa_secs: Option<f64>,
    pub service_level: Option<f64>,
    pub qa_score: Option<f64>,
    /// Agent and team rows only (see the module's comment).
    pub time: Option<AgentTime>,
    /// Agent and team rows only.
    pub overruns: Option<Overruns>,
}

/// A group's agent time over the period, in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentTime {
    pub logged_in_secs: f64,
    pub ready_secs: f64,
    pub ringing_secs: f64,
    pub talk_secs: f64,
    pub hold_secs: f64,
    pub acw_secs: f64,
    pub not_ready_secs: f64,
    /// Not-ready seconds by reason (`""`: none given).
    pub not_ready_by_reason: BTreeMap<String, f64>,
    /// acw / (talk + hold + acw).
    pub acw_share: Option<f64>,
    /// (talk + hold + acw + ringing) / (talk + hold + acw + ringing + ready).
    pub occupancy: Option<f64>,
}

/// Overrun records started in the period, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overruns {
    pub acw: u32,
    pub busy: u32,
}

/// Milliseconds of `[from, to)` inside `range`.
pub fn clipped_ms(from: i64, to: i64, range: (i64, i64)) -> i64 {
    (to.min(range.1) - from.max(range.0)).max(0)
}

/// Milliseconds per state (by [`AgentState::index`]) and per not-ready reason.
#[derive(Default)]
struct TimeAcc {
    by_state: [i64; AgentState::ALL.len()],
    by_reason: BTreeMap<String, i64>,
}

impl TimeAcc {
    fn add(&mut self, s: &StateRow, ms: i64) {
        self.by_state[s.state.index()] += ms;
        if s.state == AgentState::NotReady {
            *self.by_reason.entry(s.reason.clone().unwrap_or_default()).or_default() += ms;
        }
    }

    fn figures(&self) -> AgentTime {
        let secs = |st: AgentState| self.by_state[st.index()] as f64 / 1000.0;
        let (talk, hold, acw) = (secs(AgentState::Talking), secs(AgentState::Hold), secs(AgentState::Acw));
        let (ringing, ready) = (secs(AgentState::Ringing), secs(AgentState::Ready));
        let handling = talk + hold + acw;
        let busy = handling + ringing;
        let share = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        AgentTime {
            logged_in_secs: self.by_state.iter().sum::<i64>() as f64 / 1000.0,
            ready_secs: ready,
            ringing_secs: ringing,
            talk_secs: talk,
            hold_secs: hold,
            acw_secs: acw,
            not_ready_secs: secs(AgentState::NotReady),
            not_ready_by_reason: self
                .by_reason
                .iter()
                .map(|(r, ms)| (r.clone(), *ms as f64 / 1000.0))
                .collect(),
            acw_share: share(acw, handling),
            occupancy: share(busy, busy + ready),
        }
    }
}

#[derive(Default)]
struct Acc {
    offered: u32,
    handled: u32,
    abandoned: u32,
    talk_ms: i64,
    talked: u32,
    wait_ms: i64,
    within: u32,
    scores: Vec<f64>,
    time: TimeAcc,
    overruns: Overruns,
}

fn ratio(a: f64, b: u32) -> Option<f64> {
    (b > 0).then(|| a / f64::from(b))
}

/// The report's rows, agents first, then teams, then queues, each by id.
/// `states` may hold intervals reaching outside `range` (they are clipped).
#[allow(clippy::too_many_arguments)]
pub fn report(
    calls: &[CallRow],
    reviews: &[ReviewRow],
    states: &[StateRow],
    overruns: &[OverrunRecord],
    range: (i64, i64),
    team_of: &dyn Fn(&str) -> Option<String>,
    sl_secs: &dyn Fn(&str) -> u32,
) -> Vec<Row> {
    let mut acc: BTreeMap<(By, String), Acc> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.offered_at >= range.0 && c.offered_at < range.1) {
        let mut keys = Vec::new();
        if let Some(q) = &c.queue {
            keys.push((By::Queue, q.clone()));
        }
        if let Some(a) = &c.agent {
            keys.push((By::Agent, a.clone()));
            if let Some(t) = team_of(a) {
                keys.push((By::Team, t));
            }
        }
        let threshold_ms = i64::from(c.queue.as_deref().map_or(20, sl_secs)) * 1000;
        for k in keys {
            let e = acc.entry(k).or_default();
            e.offered += 1;
            if let Some(ans) = c.answered_at {
                e.handled += 1;
                e.wait_ms += ans - c.offered_at;
                if ans - c.offered_at <= threshold_ms {
                    e.within += 1;
                }
                if let Some(end) = c.ended_at {
                    e.talk_ms += end - ans;
                    e.talked += 1;
                }
            } else if c.abandoned_at.is_some() {
                e.abandoned += 1;
            }
        }
    }
    for r in reviews.iter().filter(|r| r.reviewed_at >= range.0 && r.reviewed_at < range.1) {
        acc.entry((By::Agent, r.agent.clone())).or_default().scores.push(r.score);
        if let Some(t) = team_of(&r.agent) {
            acc.entry((By::Team, t)).or_default().scores.push(r.score);
        }
    }
    for st in states {
        let ms = clipped_ms(st.from_ms, st.to_ms, range);
        if ms == 0 {
            continue;
        }
        acc.entry((By::Agent, st.agent.clone())).or_default().time.add(st, ms);
        if let Some(t) = &st.team {
            acc.entry((By::Team, t.clone())).or_default().time.add(st, ms);
        }
    }
    for o in overruns.iter().filter(|o| o.started_at >= range.0 && o.started_at < range.1) {
        let count = |a: &mut Acc| match o.kind {
            Kind::AcwOverrun => a.overruns.acw += 1,
            Kind::BusyOverrun => a.overruns.busy += 1,
            _ => {}
        };
        count(acc.entry((By::Agent, o.agent.clone())).or_default());
        if let Some(t) = &o.team {
            count(acc.entry((By::Team, t.clone())).or_default());
        }
    }
    acc.into_iter()
        .map(|((by, id), a)| Row {
            by,
            id,
            offered: a.offered,
            handled: a.handled,
            abandoned: a.abandoned,
            answer_rate: ratio(f64::from(a.handled), a.offered),
            aht_secs: ratio(a.talk_ms as f64 / 1000.0, a.talked),
            asa_secs: ratio(a.wait_ms as f64 / 1000.0, a.handled),
            // An agent's calls are all answered: its service level is the
            // share of its calls answered in time.
            service_level: ratio(f64::from(a.within), a.offered),
            qa_score: (!a.scores.is_empty()).then(|| a.scores.iter().sum::<f64>() / a.scores.len() as f64),
            time: (by != By::Queue).then(|| a.time.figures()),
            overruns: (by != By::Queue).then_some(a.overruns),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::shift::OverrunStatus;

    const H: i64 = 3_600_000;
    /// A day's period: [D, D + 24 h).
    const D: i64 = 1_795_420_800_000;
    const DAY: (i64, i64) = (D, D + 24 * H);

    fn st(
        agent: &str,
        team: &str,
        state: AgentState,
        reason: Option<&str>,
        from: i64,
        secs: i64,
    ) -> StateRow {
        StateRow {
            agent: agent.into(),
            team: (!team.is_empty()).then(|| team.to_owned()),
            state,
            reason: reason.map(str::to_owned),
            from_ms: from,
            to_ms: from + secs * 1000,
        }
    }

    fn overrun(agent: &str, team: &str, kind: Kind, started_at: i64) -> OverrunRecord {
        OverrunRecord {
            id: 0,
            alert_id: format!("{agent}-{started_at}"),
            agent: agent.into(),
            team: Some(team.into()),
            kind,
            reason: None,
            started_at,
            duration_secs: 600,
            threshold_secs: 300,
            tier: 1,
            is_final: true,
            status: OverrunStatus::Draft,
            note: None,
            reviewed_by: None,
            reviewed_at: None,
            explanation: None,
            explained_by: None,
            explained_at: None,
            signed_off_by: None,
            signed_off_at: None,
            updated_at: started_at,
        }
    }

    fn rows(states: &[StateRow], overruns: &[OverrunRecord], range: (i64, i64)) -> Vec<Row> {
        let calls = [CallRow {
            call: "c1".into(),
            offered_at: range.0 + H,
            queue: Some("billing".into()),
            agent: Some("A1".into()),
            caller: None,
            answered_at: Some(range.0 + H + 5_000),
            abandoned_at: None,
            ended_at: Some(range.0 + H + 65_000),
        }];
        report(&calls, &[], states, overruns, range, &|_| None, &|_| 20)
    }

    fn time_of(rows: &[Row], by: By, id: &str) -> AgentTime {
        let r = rows.iter().find(|r| r.by == by && r.id == id).unwrap_or_else(|| panic!("no row {id}"));
        r.time.clone().unwrap_or_else(|| panic!("{id} has no agent time"))
    }

    #[test]
    fn clipping_keeps_the_part_inside_the_period() {
        assert_eq!(clipped_ms(D - H, D + H, DAY), H, "across the start");
        assert_eq!(clipped_ms(D + 23 * H, D + 25 * H, DAY), H, "across the end");
        assert_eq!(clipped_ms(D - H, D + 25 * H, DAY), 24 * H, "across both");
        assert_eq!(clipped_ms(D + H, D + 2 * H, DAY), H, "inside");
        assert_eq!(clipped_ms(D - 2 * H, D, DAY), 0, "ends as it starts");
        assert_eq!(clipped_ms(D + 24 * H, D + 25 * H, DAY), 0, "starts as it ends");
    }

    /// One agent's states, summed by state and reason; the ratios by their
    /// formulas; an interval across midnight counted on each day for its part.
    #[test]
    fn agent_time_is_summed_by_state_and_reason_and_clipped_at_midnight() {
        let t = D + 8 * H;
        let states = [
            st("A1", "team-1", AgentState::Ready, None, t, 100),
            st("A1", "team-1", AgentState::Ringing, None, t + 100_000, 10),
            st("A1", "team-1", AgentState::Talking, None, t + 110_000, 200),
            st("A1", "team-1", AgentState::Hold, None, t + 310_000, 20),
            st("A1", "team-1", AgentState::Acw, None, t + 330_000, 80),
            st("A1", "team-1", AgentState::NotReady, Some("lunch"), t + 410_000, 300),
            st("A1", "team-1", AgentState::NotReady, None, t + 710_000, 50),
            // 23:50 to 00:20: ten minutes today, twenty tomorrow.
            st("A1", "team-1", AgentState::NotReady, Some("lunch"), D + 24 * H - 600_000, 1_800),
        ];
        let today = rows(&states, &[], DAY);
        let a = time_of(&today, By::Agent, "A1");
        let want = AgentTime {
            logged_in_secs: 760.0 + 600.0,
            ready_secs: 100.0,
            ringing_secs: 10.0,
            talk_secs: 200.0,
            hold_secs: 20.0,
            acw_secs: 80.0,
            not_ready_secs: 350.0 + 600.0,
            not_ready_by_reason: [(String::new(), 50.0), ("lunch".to_owned(), 900.0)].into(),
            acw_share: Some(80.0 / 300.0),
            occupancy: Some(310.0 / 410.0),
        };
        assert_eq!(a, want);
        let tomorrow = rows(&states, &[], (DAY.1, DAY.1 + 24 * H));
        let b = time_of(&tomorrow, By::Agent, "A1");
        assert_eq!((b.logged_in_secs, b.not_ready_secs), (1_200.0, 1_200.0));
        assert_eq!(b.not_ready_by_reason, [("lunch".to_owned(), 1_200.0)].into());
        assert_eq!((b.acw_share, b.occupancy), (None, None), "no handling, no ready time: no ratio");
    }

    /// A team sums its agents' time under the team each state began in (an
    /// agent who moved counts for both); queues carry no agent time; overruns
    /// count by kind when they started in the period.
    #[test]
    fn teams_sum_by_the_team_at_the_interval_and_queues_have_no_agent_time() {
        let t = D + 8 * H;
        let states = [
            st("A1", "team-1", AgentState::Talking, None, t, 300),
            st("A1", "team-1", AgentState::Acw, None, t + 300_000, 100),
            st("A2", "team-1", AgentState::Ready, None, t, 600),
            st("A2", "team-2", AgentState::Acw, None, t + 600_000, 60),
            st("A3", "", AgentState::Ready, None, t, 60),
        ];
        let overruns = [
            overrun("A1", "team-1", Kind::AcwOverrun, t),
            overrun("A1", "team-1", Kind::BusyOverrun, t + H),
            overrun("A2", "team-2", Kind::AcwOverrun, t + 2 * H),
            overrun("A2", "team-2", Kind::AcwOverrun, D - 1),
        ];
        let r = rows(&states, &overruns, DAY);
        let t1 = time_of(&r, By::Team, "team-1");
        assert_eq!(
            (t1.talk_secs, t1.acw_secs, t1.ready_secs, t1.logged_in_secs),
            (300.0, 100.0, 600.0, 1_000.0)
        );
        assert_eq!(t1.acw_share, Some(100.0 / 400.0));
        assert_eq!(t1.occupancy, Some(400.0 / 1_000.0));
        assert_eq!(time_of(&r, By::Team, "team-2").acw_secs, 60.0);
        assert_eq!(time_of(&r, By::Agent, "A3").ready_secs, 60.0, "an agent without a team has its row");
        let ov = |by: By, id: &str| r.iter().find(|x| x.by == by && x.id == id).and_then(|x| x.overruns);
        assert_eq!(ov(By::Agent, "A1"), Some(Overruns { acw: 1, busy: 1 }));
        assert_eq!(ov(By::Agent, "A2"), Some(Overruns { acw: 1, busy: 0 }), "one started the day before");
        assert_eq!(ov(By::Team, "team-1"), Some(Overruns { acw: 1, busy: 1 }));
        assert_eq!(ov(By::Team, "team-2"), Some(Overruns { acw: 1, busy: 0 }));
        let q = r.iter().find(|x| x.by == By::Queue && x.id == "billing").expect("queue row");
        assert_eq!((q.time.as_ref(), q.overruns), (None, None));
        assert_eq!(q.handled, 1, "calls still counted");
    }
}
