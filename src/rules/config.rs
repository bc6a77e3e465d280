//! The `[alerts]` section: the rules' thresholds (overruns, queue ratios, mass
//! logout, the stuck dispatcher, re-notification and the traffic-surge profile).
//! The section as written ([`RawAlerts`], serde, unknown keys rejected) and its
//! validated form ([`AlertsConfig`]), which [`super::Rules`] is built from.
//!
//! Problems are `(key, message)` pairs that `config` places at file:line:column.
//! The one thing the rules need from another section, the floor's rolling
//! windows, is handed in as a plain argument.

use std::collections::HashMap;

use serde::Deserialize;

use crate::floor::FloorConfig;
use crate::vocab::{Language, Names};

/// `(key, message)` problems, mapped onto file:line:key by `config`.
pub type Problems = Vec<(String, String)>;

fn problem(key: impl Into<String>, message: impl Into<String>) -> (String, String) {
    (key.into(), message.into())
}

/// Alert rules and their thresholds (contract §5 gives the defaults).
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// Language of alert messages.
    pub language: Language,
    /// `acw_overrun` after this long in after-call work, seconds.
    pub acw_overrun_secs: u32,
    /// Per-team and per-queue overrides of `acw_overrun_secs` (team wins).
    pub acw_overrun_secs_by_team: HashMap<String, u32>,
    pub acw_overrun_secs_by_queue: HashMap<String, u32>,
    /// `busy_overrun` limit per not-ready reason, seconds.
    pub busy_limit_secs: HashMap<String, u32>,
    /// Limit for reasons without their own.
    pub busy_default_secs: u32,
    /// An overrun turns critical at this multiple of its limit.
    pub critical_factor: f64,
    /// `source_down` after this long without a frame, or without the connection.
    pub source_timeout_secs: u32,
    /// Queue rules look at this rolling window (one of `windows.rolling_secs`).
    pub queue_window_secs: u64,
    /// Queue rules hold their fire below this many calls in the window.
    pub min_calls: u32,
    /// `answer_rate_low` below this ratio.
    pub answer_rate_min: f64,
    /// A firing ratio alert clears only once the ratio is this far back above its threshold.
    pub hysteresis: f64,
    /// `longest_wait_high` at this wait, seconds; clears below 80% of it.
    pub longest_wait_max_secs: u32,
    /// A firing `longest_wait_high` resolves only once the wait has stayed below
    /// its clear level this long, seconds (a hold-down: a queue that is bad again
    /// within it is the same episode, the same alert). 0 resolves at once.
    pub longest_wait_clear_after_secs: u32,
    /// Mass logout: this share of logged-in agents (and at least `mass_logout_min_agents`)
    /// logging out within 60 s.
    pub mass_logout_share: f64,
    pub mass_logout_min_agents: u32,
    /// Stuck dispatcher: at least `stuck_min_offered` calls offered and none answered
    /// over this many seconds while agents are ready.
    pub stuck_secs: u32,
    pub stuck_min_offered: u32,
    /// An unacknowledged critical alert is re-notified, and escalated to the duty
    /// supervisor, every this many seconds.
    pub renotify_secs: u32,
    /// Traffic-surge counting interval, seconds; the learned profile has one slot
    /// per interval of the week.
    pub surge_interval_secs: u32,
    /// Intervals of history before a queue's profile is trusted.
    pub surge_warmup_intervals: u32,
    /// No surge alert below this many calls in the interval.
    pub surge_min_calls: u32,
    /// Display names the messages say queues and components by. Not part of
    /// `[alerts]`: `config` copies them in from the sections that own them
    /// (the floor's queues, `[incidents.components]`) as plain values.
    pub names: SubjectNames,
}

/// Display names per language of the subjects alerts talk about, by id.
#[derive(Debug, Clone, Default)]
pub struct SubjectNames {
    pub queues: HashMap<String, Names>,
    pub components: HashMap<String, Names>,
}

impl SubjectNames {
    /// The queue's display name in `lang` (else the other language's), else its id.
    pub fn queue<'a>(&'a self, id: &'a str, lang: Language) -> &'a str {
        self.queues.get(id).and_then(|n| n.get(lang)).unwrap_or(id)
    }

    /// The component's display name in `lang` (else the other language's), else its id.
    pub fn component<'a>(&'a self, id: &'a str, lang: Language) -> &'a str {
        self.components.get(id).and_then(|n| n.get(lang)).unwrap_or(id)
    }
}

impl Default for AlertsConfig {
    /// The defaults over the floor's default windows.
    fn default() -> Self {
        let mut errs = Problems::new();
        let c = RawAlerts::default().validate(&FloorConfig::default().windows.rolling_secs, &mut errs);
        // The defaults are validated by config's unit tests; a problem here is a bug.
        debug_assert!(errs.is_empty(), "built-in alert defaults are invalid: {errs:?}");
        c
    }
}

/// The `[alerts]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAlerts {
    language: Option<Language>,
    acw_overrun_secs: Option<u32>,
    acw_overrun_secs_by_team: HashMap<String, u32>,
    acw_overrun_secs_by_queue: HashMap<String, u32>,
    busy_limit_secs: Option<HashMap<String, u32>>,
    busy_default_secs: Option<u32>,
    critical_factor: Option<f64>,
    source_timeout_secs: Option<u32>,
    queue_window_secs: Option<u64>,
    min_calls: Option<u32>,
    answer_rate_min: Option<f64>,
    hysteresis: Option<f64>,
    longest_wait_max_secs: Option<u32>,
    longest_wait_clear_after_secs: Option<u32>,
    mass_logout_share: Option<f64>,
    mass_logout_min_agents: Option<u32>,
    stuck_secs: Option<u32>,
    stuck_min_offered: Option<u32>,
    renotify_secs: Option<u32>,
    surge_interval_secs: Option<u32>,
    surge_warmup_intervals: Option<u32>,
    surge_min_calls: Option<u32>,
}

impl RawAlerts {
    /// `rolling_secs` are the floor's rolling windows: `queue_window_secs` must be one.
    pub fn validate(self, rolling_secs: &[u64], errs: &mut Problems) -> AlertsConfig {
        let nonzero = |errs: &mut Problems, key: &str, v: Option<u32>, d: u32| match v {
            Some(0) => {
                errs.push(problem(format!("alerts.{key}"), "must be greater than 0"));
                d
            }
            Some(n) => n,
            None => d,
        };
        let ratio = |errs: &mut Problems, key: &str, v: Option<f64>, d: f64| match v {
            Some(r) if !(0.0..=1.0).contains(&r) => {
                errs.push(problem(format!("alerts.{key}"), format!("{r} is not a ratio in [0, 1]")));
                d
            }
            Some(r) => r,
            None => d,
        };
        for (table, limits) in [
            ("acw_overrun_secs_by_team", &self.acw_overrun_secs_by_team),
            ("acw_overrun_secs_by_queue", &self.acw_overrun_secs_by_queue),
        ] {
            for (k, v) in limits {
                if *v == 0 {
                    errs.push(problem(format!("alerts.{table}.{k}"), "must be greater than 0"));
                }
            }
        }
        let busy_limit_secs = self.busy_limit_secs.unwrap_or_else(|| {
            [("break", 900), ("lunch", 3600), ("system", 300), ("training", 3600), ("meeting", 3600)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        });
        for (k, v) in &busy_limit_secs {
            if *v == 0 {
                errs.push(problem(format!("alerts.busy_limit_secs.{k}"), "must be greater than 0"));
            }
        }
        let critical_factor = self.critical_factor.unwrap_or(2.0);
        if !(critical_factor >= 1.0 && critical_factor.is_finite()) {
            errs.push(problem("alerts.critical_factor", "must be at least 1.0"));
        }
        let queue_window_secs =
            self.queue_window_secs.unwrap_or_else(|| rolling_secs.first().copied().unwrap_or(900));
        if !rolling_secs.contains(&queue_window_secs) {
            errs.push(problem(
                "alerts.queue_window_secs",
                format!("{queue_window_secs} is not one of windows.rolling_secs {rolling_secs:?}"),
            ));
        }
        AlertsConfig {
            language: self.language.unwrap_or(Language::ZhCn),
            acw_overrun_secs: nonzero(errs, "acw_overrun_secs", self.acw_overrun_secs, 120),
            acw_overrun_secs_by_team: self.acw_overrun_secs_by_team,
            acw_overrun_secs_by_queue: self.acw_overrun_secs_by_queue,
            busy_limit_secs,
            busy_default_secs: nonzero(errs, "busy_default_secs", self.busy_default_secs, 900),
            critical_factor,
            source_timeout_secs: nonzero(errs, "source_timeout_secs", self.source_timeout_secs, 15),
            queue_window_secs,
            min_calls: nonzero(errs, "min_calls", self.min_calls, 20),
            answer_rate_min: ratio(errs, "answer_rate_min", self.answer_rate_min, 0.8),
            hysteresis: ratio(errs, "hysteresis", self.hysteresis, 0.03),
            longest_wait_max_secs: nonzero(errs, "longest_wait_max_secs", self.longest_wait_max_secs, 120),
            longest_wait_clear_after_secs: self.longest_wait_clear_after_secs.unwrap_or(900),
            mass_logout_share: ratio(errs, "mass_logout_share", self.mass_logout_share, 0.2),
            mass_logout_min_agents: nonzero(errs, "mass_logout_min_agents", self.mass_logout_min_agents, 5),
            stuck_secs: nonzero(errs, "stuck_secs", self.stuck_secs, 180),
            stuck_min_offered: nonzero(errs, "stuck_min_offered", self.stuck_min_offered, 5),
            renotify_secs: nonzero(errs, "renotify_secs", self.renotify_secs, 300),
            surge_interval_secs: nonzero(errs, "surge_interval_secs", self.surge_interval_secs, 300),
            surge_warmup_intervals: nonzero(errs, "surge_warmup_intervals", self.surge_warmup_intervals, 12),
            surge_min_calls: nonzero(errs, "surge_min_calls", self.surge_min_calls, 10),
            names: SubjectNames::default(),
        }
    }
}
