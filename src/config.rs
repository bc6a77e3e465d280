//! Configuration: TOML file → `RawConfig` (serde) → validated [`Config`].
//!
//! Every problem is reported at once, each with file, line, column and key
//! (`config/floorwatch.toml:12:1: queues[1].sl_target: must be in (0, 1]`), and the
//! same [`load`] runs for `serve`, `demo` and `check-config`, so a file that passes
//! `check-config` is a file `serve` accepts. The process environment is passed in as
//! an [`Env`] map, never read here, so tests can give their own.
//!
//! Without a file every key has its default: `floorwatch serve` works on a bare
//! machine. The annotated defaults live in `config/floorwatch.toml`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::event::valid_id;

/// The process environment, as given to [`load`].
pub type Env = HashMap<String, String>;

/// Environment variable that sets (and overrides the config's) ingest token.
pub const ENV_INGEST_TOKEN: &str = "FLOORWATCH_INGEST_TOKEN";

/// Environment variable that sets (and overrides the config's) admin token for
/// writes under `/api/`.
pub const ENV_ADMIN_TOKEN: &str = "FLOORWATCH_ADMIN_TOKEN";

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9720";

// ---------------------------------------------------------------------------
// Validated configuration (what the rest of the program sees)
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Config {
    /// The one HTTP/WebSocket address (contract §2).
    pub listen: SocketAddr,
    /// Where the embedded database lives.
    pub data_dir: PathBuf,
    /// How long shutdown waits for sessions to drain before giving up.
    pub shutdown_grace: Duration,
    /// Bearer token for writes under `/api/` (acknowledgements, …); `None` means
    /// loopback clients only.
    pub admin_token: Option<String>,
    pub ingest: IngestConfig,
    pub floor: FloorConfig,
    pub alerts: AlertsConfig,
    /// Where alert changes are pushed (team leads' robots, Alertmanager, …).
    pub notify: crate::notify::NotifyConfig,
    pub wallboard: WallboardConfig,
    /// Playbooks: which alerts open an incident and the unified reply script.
    pub incidents: crate::incidents::IncidentsConfig,
    /// Feeds the daemon dials out to (`[[sources]]`: Asterisk AMI, FreeSWITCH ESL).
    pub sources: Vec<crate::ingest::sources::SourceConfig>,
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
    /// Least time between two updates sent to one client, milliseconds (at least
    /// 250: four updates a second).
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Language {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Bearer token `/ingest` requires; `None` means loopback peers only.
    pub token: Option<String>,
    /// Largest accepted WebSocket message, bytes.
    pub max_frame_bytes: usize,
    /// Concurrent ingest connections; further handshakes get 503.
    pub max_connections: usize,
    /// Batches that may wait for the engine before senders are slowed down.
    pub channel_capacity: usize,
}

#[derive(Debug, Clone)]
pub struct FloorConfig {
    /// The floor's time zone: shift boundaries and "today" are local to it.
    pub timezone: Tz,
    /// Shift starts, sorted by minute of day; at least one.
    pub shifts: Vec<ShiftConfig>,
    pub windows: WindowsConfig,
    /// How often the engine publishes a fresh snapshot to readers, at most.
    pub snapshot_interval_ms: u64,
    /// How long a finished call is remembered to recognise late or repeated events.
    pub call_retention_ms: i64,
    /// Queues beyond this many (configured plus discovered) are folded into one
    /// overflow queue so a misbehaving bridge cannot explode metric cardinality.
    pub max_queues: usize,
    pub queue_defaults: QueueParams,
    pub queues: Vec<QueueConfig>,
    pub teams: Vec<TeamConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftConfig {
    pub name: String,
    /// Minutes after local midnight.
    pub start_minute: u32,
}

#[derive(Debug, Clone)]
pub struct WindowsConfig {
    /// Rolling window lengths, seconds, ascending (default 900 and 3600).
    pub rolling_secs: Vec<u64>,
    /// Resolution of rolling windows: a window's edge moves in steps of this.
    pub bucket_secs: u64,
}

/// How abandoned calls enter the service-level formula. Each is an industry variant;
/// short abandons (below `short_abandon_secs`) are left out of every one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlAbandons {
    /// SL = answered within T / (answered + abandoned)
    Count,
    /// SL = answered within T / answered
    Ignore,
    /// SL = answered within T / (answered + abandoned after T)
    ExcludeWithinThreshold,
    /// SL = (answered within T + abandoned within T) / (answered + abandoned)
    MetWithinThreshold,
}

impl SlAbandons {
    pub fn as_str(self) -> &'static str {
        match self {
            SlAbandons::Count => "count",
            SlAbandons::Ignore => "ignore",
            SlAbandons::ExcludeWithinThreshold => "exclude_within_threshold",
            SlAbandons::MetWithinThreshold => "met_within_threshold",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueParams {
    /// Service-level threshold T, seconds ("80/20": T = 20).
    pub sl_threshold_secs: u32,
    /// Service-level target, ratio 0–1 ("80/20": 0.8).
    pub sl_target: f64,
    /// Abandons after less than this many seconds of waiting are "short" (misdials,
    /// instant hang-ups) and are left out of answer rate and service level.
    pub short_abandon_secs: u32,
    pub sl_abandons: SlAbandons,
}

impl Default for QueueParams {
    fn default() -> Self {
        QueueParams {
            sl_threshold_secs: 20,
            sl_target: 0.8,
            short_abandon_secs: 5,
            sl_abandons: SlAbandons::Count,
        }
    }
}

#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub id: String,
    pub name: String,
    pub params: QueueParams,
}

#[derive(Debug, Clone)]
pub struct TeamConfig {
    pub id: String,
    pub name: String,
    /// The team lead's name, shown on the wallboard.
    pub lead: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        match RawConfig::default().validate(&Env::new()) {
            Ok(c) => c,
            // The defaults are validated by a unit test; reaching this is a bug.
            Err(e) => unreachable!("built-in defaults are invalid: {e:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; `None` when the problem has no place (e.g. the file is unreadable).
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key path, e.g. `queues[1].sl_target`; empty for whole-file problems.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one file.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A validation problem before it is placed in the file.
#[derive(Debug)]
struct Problem {
    key: String,
    message: String,
}

fn problem(key: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem { key: key.into(), message: message.into() }
}

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/// Loads and validates the file at `path`, or the defaults when `path` is `None`.
pub fn load(path: Option<&Path>, env: &Env) -> Result<Config, ConfigErrors> {
    match path {
        None => RawConfig::default().validate(env).map_err(|problems| {
            ConfigErrors(problems.into_iter().map(|p| place(&p, "<defaults>", "", None)).collect())
        }),
        Some(path) => {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigErrors(vec![ConfigError {
                    file: file.clone(),
                    line: None,
                    column: None,
                    key: String::new(),
                    message: format!("cannot read file: {e}"),
                }])
            })?;
            parse(&text, &file, env)
        }
    }
}

/// Parses and validates config text; `file` names it in errors.
pub fn parse(text: &str, file: &str, env: &Env) -> Result<Config, ConfigErrors> {
    let de = toml::de::Deserializer::parse(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unzip();
        ConfigErrors(vec![ConfigError {
            file: file.to_owned(),
            line,
            column,
            key: String::new(),
            message: format!("invalid TOML: {}", e.message().trim()),
        }])
    })?;
    let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        let inner = e.into_inner();
        let (line, column) = inner.span().map(|s| line_col(text, s.start)).unzip();
        ConfigErrors(vec![ConfigError {
            file: file.to_owned(),
            line,
            column,
            key,
            message: inner.message().trim().to_owned(),
        }])
    })?;
    let root = toml::de::DeTable::parse(text).ok();
    raw.validate(env).map_err(|problems| {
        ConfigErrors(
            problems.iter().map(|p| place(p, file, text, root.as_ref().map(|r| r.get_ref()))).collect(),
        )
    })
}

/// Attaches a file position to a problem by walking its key path in the spanned
/// document; falls back to the nearest existing parent key.
fn place(p: &Problem, file: &str, text: &str, root: Option<&toml::de::DeTable<'_>>) -> ConfigError {
    let span = root.and_then(|root| span_of(root, &p.key));
    let (line, column) = span.map(|start| line_col(text, start)).unzip();
    ConfigError { file: file.to_owned(), line, column, key: p.key.clone(), message: p.message.clone() }
}

/// Byte offset of the deepest existing part of `path` (`a.b[2].c`).
fn span_of(root: &toml::de::DeTable<'_>, path: &str) -> Option<usize> {
    use toml::de::DeValue;
    let mut segments = Vec::new();
    for part in path.split('.') {
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        segments.push((name, None));
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            let n = idx.trim_end_matches(']').parse::<usize>().ok();
            segments.push(("", n));
        }
    }
    let mut best = None;
    let mut current: Option<&DeValue<'_>> = None;
    for (name, index) in segments {
        let next = match (current, index) {
            (None, None) => root
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == name)
                .map(|(k, v)| (k.span().start, v.get_ref())),
            (Some(DeValue::Table(t)), None) => t
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == name)
                .map(|(k, v)| (k.span().start, v.get_ref())),
            (Some(DeValue::Array(a)), Some(i)) => a.get(i).map(|v| (v.span().start, v.get_ref())),
            _ => None,
        };
        match next {
            Some((start, value)) => {
                best = Some(start);
                current = Some(value);
            }
            None => break,
        }
    }
    best
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}

// ---------------------------------------------------------------------------
// Raw (as written) configuration
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    version: Option<u32>,
    server: RawServer,
    ingest: RawIngest,
    floor: RawFloor,
    windows: RawWindows,
    queue_defaults: RawQueueParams,
    queues: Vec<RawQueue>,
    teams: Vec<RawTeam>,
    alerts: RawAlerts,
    notify: crate::notify::RawNotifyConfig,
    wallboard: RawWallboard,
    incidents: crate::incidents::RawIncidentsConfig,
    sources: Vec<crate::ingest::sources::RawSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawWallboard {
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
}

impl RawWallboard {
    /// Thresholds not given follow the alert rules, so a tile turns red when the
    /// matching alert fires.
    fn validate(
        self,
        rolling_secs: &[u64],
        alerts: &AlertsConfig,
        errs: &mut Vec<Problem>,
    ) -> WallboardConfig {
        let push_interval_ms = self.push_interval_ms.unwrap_or(250);
        if !(250..=10_000).contains(&push_interval_ms) {
            errs.push(problem(
                "wallboard.push_interval_ms",
                "must be between 250 (four updates a second) and 10000",
            ));
        }
        // The same labels the floor gives its windows (see floor::Floor::snapshot).
        let mut labels: Vec<String> = rolling_secs
            .iter()
            .map(|&s| if s % 60 == 0 { format!("{}m", s / 60) } else { format!("{s}s") })
            .collect();
        labels.push("shift".into());
        let window = self.window.unwrap_or_else(|| labels[0].clone());
        if !labels.contains(&window) {
            errs.push(problem(
                "wallboard.window",
                format!("`{window}` is not one of the windows {labels:?}"),
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
        let ratio = |errs: &mut Vec<Problem>, key: &str, v: Option<f64>, d: f64| match v {
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
        WallboardConfig {
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAlerts {
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
    fn validate(self, rolling_secs: &[u64], errs: &mut Vec<Problem>) -> AlertsConfig {
        let nonzero = |errs: &mut Vec<Problem>, key: &str, v: Option<u32>, d: u32| match v {
            Some(0) => {
                errs.push(problem(format!("alerts.{key}"), "must be greater than 0"));
                d
            }
            Some(n) => n,
            None => d,
        };
        let ratio = |errs: &mut Vec<Problem>, key: &str, v: Option<f64>, d: f64| match v {
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
            mass_logout_share: ratio(errs, "mass_logout_share", self.mass_logout_share, 0.2),
            mass_logout_min_agents: nonzero(errs, "mass_logout_min_agents", self.mass_logout_min_agents, 5),
            stuck_secs: nonzero(errs, "stuck_secs", self.stuck_secs, 180),
            stuck_min_offered: nonzero(errs, "stuck_min_offered", self.stuck_min_offered, 5),
            renotify_secs: nonzero(errs, "renotify_secs", self.renotify_secs, 300),
            surge_interval_secs: nonzero(errs, "surge_interval_secs", self.surge_interval_secs, 300),
            surge_warmup_intervals: nonzero(errs, "surge_warmup_intervals", self.surge_warmup_intervals, 12),
            surge_min_calls: nonzero(errs, "surge_min_calls", self.surge_min_calls, 10),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawServer {
    listen: Option<String>,
    data_dir: Option<String>,
    shutdown_grace_secs: Option<u64>,
    admin_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawIngest {
    token: Option<String>,
    max_frame_bytes: Option<usize>,
    max_connections: Option<usize>,
    channel_capacity: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawFloor {
    timezone: Option<String>,
    snapshot_interval_ms: Option<u64>,
    call_retention_secs: Option<u64>,
    max_queues: Option<usize>,
    shifts: Option<Vec<RawShift>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShift {
    name: String,
    start: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawWindows {
    rolling_secs: Option<Vec<u64>>,
    bucket_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawQueueParams {
    sl_threshold_secs: Option<u32>,
    sl_target: Option<f64>,
    short_abandon_secs: Option<u32>,
    sl_abandons: Option<SlAbandons>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    id: String,
    name: Option<String>,
    sl_threshold_secs: Option<u32>,
    sl_target: Option<f64>,
    short_abandon_secs: Option<u32>,
    sl_abandons: Option<SlAbandons>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    id: String,
    name: Option<String>,
    lead: Option<String>,
}

const SUPPORTED_VERSION: u32 = 1;

impl RawConfig {
    fn validate(self, env: &Env) -> Result<Config, Vec<Problem>> {
        let mut errs = Vec::new();

        if let Some(v) = self.version
            && v != SUPPORTED_VERSION
        {
            errs.push(problem(
                "version",
                format!("unsupported config version {v} (this floorwatch reads version {SUPPORTED_VERSION})"),
            ));
        }

        let listen_text = self.server.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
            errs.push(problem(
                "server.listen",
                format!("`{listen_text}` is not an address like 127.0.0.1:9720"),
            ));
            SocketAddr::from(([127, 0, 0, 1], 9720))
        });
        let data_dir = PathBuf::from(self.server.data_dir.as_deref().unwrap_or("floorwatch-data"));
        let shutdown_grace = Duration::from_secs(self.server.shutdown_grace_secs.unwrap_or(10));
        let admin_token =
            env.get(ENV_ADMIN_TOKEN).cloned().or(self.server.admin_token).filter(|t| !t.is_empty());

        // The environment wins over the file so a secret need not be written down.
        let token = env.get(ENV_INGEST_TOKEN).cloned().or(self.ingest.token).filter(|t| !t.is_empty());
        let ingest = IngestConfig {
            token,
            max_frame_bytes: positive(
                &mut errs,
                "ingest.max_frame_bytes",
                self.ingest.max_frame_bytes,
                1 << 20,
            ),
            max_connections: positive(&mut errs, "ingest.max_connections", self.ingest.max_connections, 256),
            channel_capacity: positive(
                &mut errs,
                "ingest.channel_capacity",
                self.ingest.channel_capacity,
                256,
            ),
        };

        let tz_text = self.floor.timezone.as_deref().unwrap_or("Asia/Shanghai");
        let timezone = tz_text.parse::<Tz>().unwrap_or_else(|_| {
            errs.push(problem(
                "floor.timezone",
                format!("unknown time zone `{tz_text}` (use an IANA name such as Asia/Shanghai)"),
            ));
            Tz::Asia__Shanghai
        });

        let raw_shifts = self.floor.shifts.unwrap_or_else(|| {
            vec![
                RawShift { name: "day".into(), start: "08:00".into() },
                RawShift { name: "evening".into(), start: "16:00".into() },
                RawShift { name: "night".into(), start: "00:00".into() },
            ]
        });
        if raw_shifts.is_empty() {
            errs.push(problem("floor.shifts", "at least one shift is needed"));
        }
        let mut shifts = Vec::new();
        let mut starts = HashSet::new();
        for (i, s) in raw_shifts.iter().enumerate() {
            match parse_hhmm(&s.start) {
                Some(m) if starts.insert(m) => {
                    shifts.push(ShiftConfig { name: s.name.clone(), start_minute: m })
                }
                Some(_) => errs.push(problem(
                    format!("floor.shifts[{i}].start"),
                    format!("two shifts start at {}", s.start),
                )),
                None => errs.push(problem(
                    format!("floor.shifts[{i}].start"),
                    format!("`{}` is not a time of day like 08:00", s.start),
                )),
            }
        }
        shifts.sort_by_key(|s| s.start_minute);

        let bucket_secs = self.windows.bucket_secs.unwrap_or(10);
        if bucket_secs == 0 || bucket_secs > 300 {
            errs.push(problem("windows.bucket_secs", "must be between 1 and 300 seconds"));
        }
        let mut rolling_secs = self.windows.rolling_secs.unwrap_or_else(|| vec![900, 3600]);
        if rolling_secs.is_empty() {
            errs.push(problem("windows.rolling_secs", "at least one rolling window is needed"));
        }
        for (i, &w) in rolling_secs.iter().enumerate() {
            if w == 0 || bucket_secs == 0 || w % bucket_secs != 0 {
                errs.push(problem(
                    format!("windows.rolling_secs[{i}]"),
                    format!("{w} s is not a positive multiple of windows.bucket_secs ({bucket_secs} s)"),
                ));
            } else if w > 24 * 3600 {
                errs.push(problem(format!("windows.rolling_secs[{i}]"), "longest rolling window is 86400 s"));
            }
        }
        rolling_secs.sort_unstable();
        rolling_secs.dedup();

        let queue_defaults =
            params(&mut errs, "queue_defaults", &self.queue_defaults, QueueParams::default());
        let mut queues = Vec::new();
        let mut ids = HashSet::new();
        for (i, q) in self.queues.into_iter().enumerate() {
            let key = format!("queues[{i}]");
            if !valid_id(&q.id) {
                errs.push(problem(
                    format!("{key}.id"),
                    format!("`{}` is not a valid id (1–64 chars, no spaces or control characters)", q.id),
                ));
            } else if !ids.insert(q.id.clone()) {
                errs.push(problem(format!("{key}.id"), format!("queue `{}` is defined twice", q.id)));
            }
            let raw = RawQueueParams {
                sl_threshold_secs: q.sl_threshold_secs,
                sl_target: q.sl_target,
                short_abandon_secs: q.short_abandon_secs,
                sl_abandons: q.sl_abandons,
            };
            let p = params(&mut errs, &key, &raw, queue_defaults);
            queues.push(QueueConfig { name: q.name.unwrap_or_else(|| q.id.clone()), id: q.id, params: p });
        }

        let mut teams = Vec::new();
        let mut team_ids = HashSet::new();
        for (i, t) in self.teams.into_iter().enumerate() {
            if !valid_id(&t.id) {
                errs.push(problem(format!("teams[{i}].id"), format!("`{}` is not a valid id", t.id)));
            } else if !team_ids.insert(t.id.clone()) {
                errs.push(problem(format!("teams[{i}].id"), format!("team `{}` is defined twice", t.id)));
            }
            teams.push(TeamConfig { name: t.name.unwrap_or_else(|| t.id.clone()), id: t.id, lead: t.lead });
        }

        let max_queues = positive(&mut errs, "floor.max_queues", self.floor.max_queues, 2000);
        if queues.len() > max_queues {
            errs.push(problem(
                "floor.max_queues",
                format!("{} queues are configured but max_queues is {max_queues}", queues.len()),
            ));
        }
        // Eight snapshots a second on the clock's grid: the wallboard pushes on
        // the 250 ms grid, two of these, just after the engine has published, so
        // its updates carry fresh snapshots (and /api/floor is at most 125 ms old).
        let snapshot_interval_ms = self.floor.snapshot_interval_ms.unwrap_or(125);
        if !(50..=10_000).contains(&snapshot_interval_ms) {
            errs.push(problem("floor.snapshot_interval_ms", "must be between 50 and 10000"));
        }
        let call_retention_secs = self.floor.call_retention_secs.unwrap_or(4 * 3600);
        if call_retention_secs < 60 {
            errs.push(problem("floor.call_retention_secs", "must be at least 60 seconds"));
        }

        let alerts = self.alerts.validate(&rolling_secs, &mut errs);
        let wallboard = self.wallboard.validate(&rolling_secs, &alerts, &mut errs);
        let notify = match self.notify.validate() {
            Ok(n) => Some(n),
            Err(problems) => {
                errs.extend(problems.into_iter().map(|(key, message)| problem(key, message)));
                None
            }
        };

        let incidents = match self.incidents.validate() {
            Ok(i) => Some(i),
            Err(problems) => {
                errs.extend(problems.into_iter().map(|(key, message)| problem(key, message)));
                None
            }
        };

        let sources = crate::ingest::sources::validate(self.sources).unwrap_or_else(|problems| {
            errs.extend(problems.into_iter().map(|(key, message)| problem(key, message)));
            Vec::new()
        });

        let (Some(notify), Some(incidents)) = (notify, incidents) else {
            return Err(errs);
        };
        // Playbooks name receivers: they must exist.
        for (i, p) in incidents.playbooks.iter().enumerate() {
            for name in &p.notify {
                if !notify.receivers.iter().any(|r| &r.name == name) {
                    errs.push(problem(
                        format!("incidents.playbooks[{i}].notify"),
                        format!("no [[notify.receivers]] is named {name:?}"),
                    ));
                }
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(Config {
            sources,
            alerts,
            notify,
            wallboard,
            incidents,
            admin_token,
            listen,
            data_dir,
            shutdown_grace,
            ingest,
            floor: FloorConfig {
                timezone,
                shifts,
                windows: WindowsConfig { rolling_secs, bucket_secs },
                snapshot_interval_ms,
                call_retention_ms: i64::try_from(call_retention_secs).unwrap_or(i64::MAX / 1000) * 1000,
                max_queues,
                queue_defaults,
                queues,
                teams,
            },
        })
    }
}

fn positive(errs: &mut Vec<Problem>, key: &str, v: Option<usize>, default: usize) -> usize {
    match v {
        Some(0) => {
            errs.push(problem(key, "must be greater than 0"));
            default
        }
        Some(n) => n,
        None => default,
    }
}

fn params(errs: &mut Vec<Problem>, key: &str, raw: &RawQueueParams, base: QueueParams) -> QueueParams {
    let mut p = base;
    if let Some(t) = raw.sl_threshold_secs {
        if t == 0 {
            errs.push(problem(format!("{key}.sl_threshold_secs"), "must be greater than 0"));
        } else {
            p.sl_threshold_secs = t;
        }
    }
    if let Some(t) = raw.sl_target {
        if !(t > 0.0 && t <= 1.0) {
            errs.push(problem(
                format!("{key}.sl_target"),
                format!("{t} is not a ratio in (0, 1] (write 0.8 for 80%)"),
            ));
        } else {
            p.sl_target = t;
        }
    }
    if let Some(s) = raw.short_abandon_secs {
        p.short_abandon_secs = s;
    }
    if p.short_abandon_secs >= p.sl_threshold_secs && raw.short_abandon_secs.is_some() {
        errs.push(problem(
            format!("{key}.short_abandon_secs"),
            format!("must be below the service-level threshold ({} s)", p.sl_threshold_secs),
        ));
    }
    if let Some(a) = raw.sl_abandons {
        p.sl_abandons = a;
    }
    p
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests;
