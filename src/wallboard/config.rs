//! The `[wallboard]` section: what the wall (`/`) and the team-lead console
//! (`/lead`) colour, how often they are updated, and who may read the floor.
//! The section as written ([`RawWallboard`], serde, unknown keys rejected) and
//! its validated form ([`WallboardConfig`]); `http` serves the pages by it.
//!
//! Problems are `(key, message)` pairs that `config` places at file:line:column.
//! What the section depends on elsewhere — the floor's window labels and the
//! alert thresholds the tiles follow — `config` hands in as plain values, so
//! this module knows neither the floor's nor the rules' config.

use serde::Deserialize;

/// The fastest wall cadence: ten updates a second (a change reaches the page
/// within ~100 ms of the engine's next snapshot plus the page's own frame).
pub const PUSH_INTERVAL_MS_MIN: u64 = 100;
/// The default cadence: event → next frame well under 250 ms at p99.
pub const PUSH_INTERVAL_MS_DEFAULT: u64 = 200;
/// The default `agent_cells_max`.
pub const AGENT_CELLS_MAX_DEFAULT: u32 = 1000;

/// `(key, message)` problems, mapped onto file:line:key by `config`.
pub type Problems = Vec<(String, String)>;

fn problem(key: impl Into<String>, message: impl Into<String>) -> (String, String) {
    (key.into(), message.into())
}

/// The wallboard (`/`) and the team-lead console (`/lead`): what they colour, how
/// often they are updated, and who may read the floor.
#[derive(Debug, Clone)]
pub struct WallboardConfig {
    /// Shown in the wall's header, e.g. the contact centre's name.
    pub title: String,
    /// Who may read the floor: the pages, `/ws/floor`, `/api/floor`, `/api/alerts`
    /// and `/ws/alerts`. Writes follow the admin-token rule whatever this says.
    pub read_access: ReadAccess,
    /// Least time between two updates sent to one client, milliseconds (100 to
    /// 10000; 200 by default: a change waits at most a fifth of a second for its slot).
    pub push_interval_ms: u64,
    /// The window the queue tiles count over: a label of the floor's windows
    /// (`15m`, `60m`, `shift`, …).
    pub window: String,
    /// Calls waiting now: amber from this many, red from `waiting_crit`.
    pub waiting_warn: u32,
    pub waiting_crit: u32,
    /// Longest wait: amber from this many seconds, red from `longest_wait_crit_secs`.
    pub longest_wait_warn_secs: u32,
    pub longest_wait_crit_secs: u32,
    /// Answer rate (接通率): amber below this ratio, red below `answer_rate_crit`.
    pub answer_rate_warn: f64,
    pub answer_rate_crit: f64,
    /// Service level: amber below the queue's target, red once it is this far
    /// (a ratio) below it.
    pub service_level_warn_margin: f64,
    /// Most agents the wall draws one by one; past this it shows each team as a
    /// summary tile (counts by state and the agents who need a lead now). Each
    /// cell is painted by the browser on every change, and past about a thousand
    /// of them a 10k events/s floor costs the page more than a frame (issue 18's
    /// figures in README); a floor that wants every agent on a TV splits the
    /// wall by `?teams=`. 0: always summaries.
    pub agent_cells_max: u32,
}

/// Who may read the floor over HTTP and WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadAccess {
    /// This machine only (127.0.0.0/8, ::1).
    Loopback,
    /// This machine and private networks: 10/8, 172.16/12, 192.168/16, link-local,
    /// IPv6 unique-local and link-local.
    Lan,
    /// Anyone who can reach the listen address.
    Any,
}

/// The alert thresholds the tiles follow when the section leaves theirs out, so
/// a tile turns red when the matching alert fires.
#[derive(Debug, Clone, Copy)]
pub struct AlertThresholds {
    /// `alerts.longest_wait_max_secs`.
    pub longest_wait_max_secs: u32,
    /// `alerts.answer_rate_min`.
    pub answer_rate_min: f64,
}

/// The `[wallboard]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWallboard {
    title: Option<String>,
    read_access: Option<ReadAccess>,
    push_interval_ms: Option<u64>,
    window: Option<String>,
    waiting_warn: Option<u32>,
    waiting_crit: Option<u32>,
    longest_wait_warn_secs: Option<u32>,
    longest_wait_crit_secs: Option<u32>,
    answer_rate_warn: Option<f64>,
    answer_rate_crit: Option<f64>,
    service_level_warn_margin: Option<f64>,
    agent_cells_max: Option<u32>,
}

impl RawWallboard {
    /// `windows` are the labels of the floor's windows (`15m`, …, `shift`), the
    /// first being the default; thresholds not given follow `alerts`.
    pub fn validate(
        self,
        windows: &[String],
        alerts: AlertThresholds,
        errs: &mut Problems,
    ) -> WallboardConfig {
        let push_interval_ms = self.push_interval_ms.unwrap_or(PUSH_INTERVAL_MS_DEFAULT);
        if !(PUSH_INTERVAL_MS_MIN..=10_000).contains(&push_interval_ms) {
            errs.push(problem(
                "wallboard.push_interval_ms",
                "must be between 100 (ten updates a second) and 10000",
            ));
        }
        let window = self.window.unwrap_or_else(|| windows.first().cloned().unwrap_or_default());
        if !windows.contains(&window) {
            errs.push(problem(
                "wallboard.window",
                format!("`{window}` is not one of the windows {windows:?}"),
            ));
        }
        let waiting_warn = self.waiting_warn.unwrap_or(5);
        let waiting_crit = self.waiting_crit.unwrap_or(10);
        if waiting_warn > waiting_crit {
            errs.push(problem("wallboard.waiting_warn", "must not be above waiting_crit"));
        }
        let longest_wait_crit_secs = self.longest_wait_crit_secs.unwrap_or(alerts.longest_wait_max_secs);
        let longest_wait_warn_secs = self.longest_wait_warn_secs.unwrap_or(longest_wait_crit_secs / 2);
        if longest_wait_warn_secs > longest_wait_crit_secs {
            errs.push(problem(
                "wallboard.longest_wait_warn_secs",
                "must not be above longest_wait_crit_secs",
            ));
        }
        let ratio = |errs: &mut Problems, key: &str, v: Option<f64>, d: f64| match v {
            Some(r) if !(0.0..=1.0).contains(&r) => {
                errs.push(problem(format!("wallboard.{key}"), format!("{r} is not a ratio in [0, 1]")));
                d
            }
            Some(r) => r,
            None => d,
        };
        let answer_rate_crit = ratio(errs, "answer_rate_crit", self.answer_rate_crit, alerts.answer_rate_min);
        let answer_rate_warn =
            ratio(errs, "answer_rate_warn", self.answer_rate_warn, (answer_rate_crit + 0.05).min(1.0));
        if answer_rate_warn < answer_rate_crit {
            errs.push(problem("wallboard.answer_rate_warn", "must not be below answer_rate_crit"));
        }
        let agent_cells_max = self.agent_cells_max.unwrap_or(AGENT_CELLS_MAX_DEFAULT);
        if agent_cells_max > 100_000 {
            errs.push(problem(
                "wallboard.agent_cells_max",
                "must be between 0 (always summaries) and 100000",
            ));
        }
        WallboardConfig {
            agent_cells_max,
            title: self.title.unwrap_or_else(|| "floorwatch".into()),
            read_access: self.read_access.unwrap_or(ReadAccess::Lan),
            push_interval_ms,
            window,
            waiting_warn,
            waiting_crit,
            longest_wait_warn_secs,
            longest_wait_crit_secs,
            answer_rate_warn,
            answer_rate_crit,
            service_level_warn_margin: ratio(
                errs,
                "service_level_warn_margin",
                self.service_level_warn_margin,
                0.1,
            ),
        }
    }
}
