//! Quality assurance (质检): pre-registered call sampling, scoring and appeals.
//!
//! Pure: no IO, no clock, no tasks. The call log it samples is the store's
//! (`store::qa`, fed by the engine's finished calls); `http::qa` registers
//! rules, runs them and carries reviews and appeals through the store.
//!
//! - [`Rule`]: a sampling rule, fixed before its period starts; [`sample::sample`]
//!   is the deterministic function of (rule, calls) anyone can re-run (its
//!   algorithm is written at the top of `sample.rs`); [`quotas`] says who is
//!   under their weekly minimum.
//! - `score`: the configured score sheet, grade bands, the monthly score.
//! - `rotation`: the live-monitoring order per team (pinyin order, rotated monthly)
//!   and who is next, skipped or done this month.
//! - `analysis`: the monthly QA analysis (监听分析表) and its approval deadline.
//! - `report`: KPIs per agent, team and queue.
//! - `config`: `[qa]` (`keep_days` of the call log and the agent state log, the score sheet).

pub mod analysis;
pub mod config;
pub mod report;
pub mod rotation;
pub mod sample;
pub mod score;

use std::collections::BTreeMap;

use chrono::TimeZone;

use crate::store::qa::{CallRow, ReviewRow};
pub use config::{QaConfig, RawQaConfig};

/// A calendar month (`YYYY-MM`), in whatever zone its user says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1-12.
    pub month: u32,
}

impl Month {
    /// `YYYY-MM` (four-digit year, two-digit month).
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// The month holding the instant `ms` in `tz`.
    pub fn of(ms: i64, tz: chrono_tz::Tz) -> Option<Month> {
        use chrono::Datelike;
        let t = tz.timestamp_millis_opt(ms).single()?;
        Some(Month { year: t.year(), month: t.month() })
    }

    /// Months since January 2000 (month 0; earlier months are negative).
    pub fn index(self) -> i64 {
        (i64::from(self.year) - 2000) * 12 + i64::from(self.month) - 1
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }

    /// `[from, to)` UTC ms of the month in `tz`.
    pub fn range(self, tz: chrono_tz::Tz) -> Option<(i64, i64)> {
        let at = |m: Month| tz.with_ymd_and_hms(m.year, m.month, 1, 0, 0, 0).earliest();
        Some((at(self)?.timestamp_millis(), at(self.next())?.timestamp_millis()))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Which strata the rate is spread over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strata {
    pub queue: bool,
    pub weekday: bool,
    pub hour: bool,
}

impl Default for Strata {
    fn default() -> Self {
        Strata { queue: true, weekday: true, hour: true }
    }
}

/// A sampling rule (see `sample.rs` for what each field does).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub name: String,
    /// The period, `[from_ms, to_ms)` UTC.
    pub from_ms: i64,
    pub to_ms: i64,
    /// The share of calls picked, 0 < rate ≤ 1 (0.03 is 3 %).
    pub rate: f64,
    /// Calls per agent per ISO week, at least.
    pub per_agent_min: u32,
    /// The published seed.
    pub seed: String,
    /// Weekdays, hours, weeks and half-months are this zone's.
    pub timezone: chrono_tz::Tz,
    pub strata: Strata,
    /// Rate picks prefer talk times within this fraction of the day's mean.
    pub band: Option<f64>,
    pub new_agents: Vec<String>,
    pub new_agent_factor: f64,
    pub watch_list: Vec<String>,
    pub watch_factor: f64,
}

impl Rule {
    /// The first problem with the rule: (field, message).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.id.is_empty()
            || self.id.len() > 64
            || !self.id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(("id", "must be 1-64 letters, digits, '-', '_' or '.'".into()));
        }
        if self.name.trim().is_empty() {
            return Err(("name", "must not be empty".into()));
        }
        if self.to_ms <= self.from_ms {
            return Err(("to", "must be after from".into()));
        }
        if !(self.rate > 0.0 && self.rate <= 1.0) {
            return Err(("rate", "must be a fraction above 0, at most 1 (0.03 is 3 %)".into()));
        }
        if self.seed.is_empty() {
            return Err(("seed", "must not be empty: it is what makes the sample re-runnable".into()));
        }
        if let Some(b) = self.band
            && !(b > 0.0 && b.is_finite())
        {
            return Err(("band", "must be a positive fraction of the day's mean".into()));
        }
        for (f, v) in [("new_agent_factor", self.new_agent_factor), ("watch_factor", self.watch_factor)] {
            if !(1.0..=100.0).contains(&v) {
                return Err((f, format!("must be between 1 and 100, not {v}")));
            }
        }
        Ok(())
    }
}

/// One agent's standing against the weekly minimum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub agent: String,
    pub minimum: u32,
    /// Calls the rule picked for the agent this week.
    pub picked: u32,
    /// Of those, reviewed.
    pub reviewed: u32,
}

impl Quota {
    pub fn under(&self) -> bool {
        self.reviewed < self.minimum
    }
}

/// For the ISO week holding `now` (in the rule's zone): each agent with calls
/// this week, their minimum, what the rule picked and what has been reviewed.
pub fn quotas(rule: &Rule, calls: &[CallRow], reviews: &[ReviewRow], now: i64) -> Vec<Quota> {
    let Some(now_local) = rule.timezone.timestamp_millis_opt(now).single() else { return Vec::new() };
    let week = sample::iso_week(&now_local);
    let this_week = |ts: i64| {
        rule.timezone.timestamp_millis_opt(ts).single().is_some_and(|t| sample::iso_week(&t) == week)
    };
    let s = sample::sample(rule, calls);
    let reviewed: std::collections::HashSet<&str> = reviews.iter().map(|r| r.call.as_str()).collect();
    let mut by: BTreeMap<String, Quota> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.answered_at.is_some_and(this_week)) {
        if let Some(a) = &c.agent {
            by.entry(a.clone()).or_insert_with(|| Quota {
                agent: a.clone(),
                minimum: sample::minimum_for(rule, a),
                picked: 0,
                reviewed: 0,
            });
        }
    }
    for p in &s.picks {
        if !p.call.answered_at.is_some_and(this_week) {
            continue;
        }
        if let Some(q) = p.call.agent.as_ref().and_then(|a| by.get_mut(a)) {
            q.picked += 1;
            if reviewed.contains(p.call.call.as_str()) {
                q.reviewed += 1;
            }
        }
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests;
