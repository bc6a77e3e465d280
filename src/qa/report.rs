//! KPI reports over the call log: per agent, team and queue, per day, week or
//! month (in the floor's zone). Pure: the handler passes the calls, the reviews,
//! each agent's team and each queue's service-level threshold.
//!
//! Figures, per group, over calls *offered* in the period:
//! - `offered`; `handled` (answered); `abandoned`; `answer_rate` = handled / offered;
//! - `aht_secs`: mean talk time of handled calls that ended (the call log has
//!   no after-call work yet: ACW share, occupancy, not-ready by reason and
//!   overruns are not in this report);
//! - `asa_secs`: mean wait of handled calls;
//! - `service_level`: handled within the queue's `sl_threshold_secs` / offered;
//! - `qa_score`: mean score of the group's reviews made in the period.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, TimeZone};

use crate::store::qa::{CallRow, ReviewRow};

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
}

fn ratio(a: f64, b: u32) -> Option<f64> {
    (b > 0).then(|| a / f64::from(b))
}

/// The report's rows, agents first, then teams, then queues, each by id.
pub fn report(
    calls: &[CallRow],
    reviews: &[ReviewRow],
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
        })
        .collect()
}
