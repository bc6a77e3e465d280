//! The floor's sections of the config file: `[floor]` (time zone, shifts, snapshot
//! pace, retention), `[windows]`, `[queue_defaults]`, `[[queues]]` and `[[teams]]`.
//! The sections as written (`Raw*`, serde, unknown keys rejected) and their
//! validated form, [`FloorConfig`], which is all [`super::Floor`] is built from.
//!
//! Validation reports every problem as a `(key, message)` pair and still returns
//! a usable value (defaults in place of bad ones), so `config` can go on to check
//! the sections that depend on the floor's windows and report everything at once;
//! `config` places the problems at file:line:column. Nothing here reads the
//! environment or knows the other sections.

use std::collections::HashSet;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::event::valid_id;
use crate::vocab::Names;

/// `(key, message)` problems, mapped onto file:line:key by `config`.
pub type Problems = Vec<(String, String)>;

fn problem(key: impl Into<String>, message: impl Into<String>) -> (String, String) {
    (key.into(), message.into())
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
    /// How often (real seconds) the live floor is checkpointed to the store, and
    /// so the most live state a crash can lose; 0: no checkpoints, and none is
    /// restored at start.
    pub checkpoint_secs: u64,
    /// Queues beyond this many (configured plus discovered) are folded into one
    /// overflow queue so a misbehaving bridge cannot explode metric cardinality.
    pub max_queues: usize,
    pub queue_defaults: QueueParams,
    pub queues: Vec<QueueConfig>,
    pub teams: Vec<TeamConfig>,
    /// How many distinct things the floor takes in before it refuses events
    /// that would add one more (`[limits]`, composed in by `config`).
    pub limits: FloorLimits,
}

/// The floor's bounds on what events can make it hold, so that no input (a
/// bridge that sends call ids as agent ids, say) grows it without end. An event
/// that would add an agent, call, source, team or fault component beyond its
/// bound is refused whole ([`super::Refusal`]); events for known ones still
/// apply. Queues have their own bound, `max_queues`, and fold into
/// [`super::OVERFLOW_QUEUE`] instead, so calls are still counted in the floor's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloorLimits {
    /// Distinct agent ids (logged out ones included: the floor keeps them).
    pub max_agents: usize,
    /// Calls in progress: waiting, answered and not yet ended, or seen only in part.
    pub max_calls: usize,
    /// Distinct sources, named and anonymous, with a connection or events.
    pub max_sources: usize,
    /// Teams seen in logins, beyond the configured ones.
    pub max_teams: usize,
    /// Fault components ever reported.
    pub max_components: usize,
}

impl Default for FloorLimits {
    fn default() -> FloorLimits {
        FloorLimits {
            max_agents: 50_000,
            max_calls: 200_000,
            max_sources: 1_000,
            max_teams: 1_000,
            max_components: 1_000,
        }
    }
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
    /// Display names per language for the pages and scripts (`name` is the fallback).
    pub names: Names,
    pub params: QueueParams,
}

#[derive(Debug, Clone)]
pub struct TeamConfig {
    pub id: String,
    pub name: String,
    /// Display names per language for the pages (`name` is the fallback).
    pub names: Names,
    /// The team lead's name, shown on the wallboard.
    pub lead: Option<String>,
}

/// The label of a rolling window of `secs` seconds: `15m`, `60m`, or `90s` when not
/// whole minutes. The snapshot, the metrics and the wallboard's `window` key all
/// name windows so; `shift` is the label of the shift-to-date window.
pub fn window_label(secs: u64) -> String {
    if secs % 60 == 0 { format!("{}m", secs / 60) } else { format!("{secs}s") }
}

/// The label of the shift-to-date window, beside the rolling ones.
pub const SHIFT_WINDOW: &str = "shift";

impl WindowsConfig {
    /// Every window's label, rolling ones ascending, then `shift`.
    pub fn labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = self.rolling_secs.iter().map(|&s| window_label(s)).collect();
        labels.push(SHIFT_WINDOW.into());
        labels
    }
}

impl Default for FloorConfig {
    fn default() -> Self {
        let mut errs = Problems::new();
        let c = RawFloorTables::default().validate(&mut errs);
        // The defaults are validated by config's unit tests; a problem here is a bug.
        debug_assert!(errs.is_empty(), "built-in floor defaults are invalid: {errs:?}");
        c
    }
}

/// The five top-level tables the floor owns, as written. They are separate
/// tables in the file, so `config` deserializes each and hands them over
/// together (serde's `flatten` would do it for us, but does not work with
/// `deny_unknown_fields`).
#[derive(Debug, Default)]
pub struct RawFloorTables {
    pub floor: RawFloor,
    pub windows: RawWindows,
    pub queue_defaults: RawQueueParams,
    pub queues: Vec<RawQueue>,
    pub teams: Vec<RawTeam>,
}

/// `[floor]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFloor {
    timezone: Option<String>,
    snapshot_interval_ms: Option<u64>,
    call_retention_secs: Option<u64>,
    checkpoint_secs: Option<u64>,
    max_queues: Option<usize>,
    shifts: Option<Vec<RawShift>>,
}

/// One `[[floor.shifts]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShift {
    name: String,
    start: String,
}

/// `[windows]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWindows {
    rolling_secs: Option<Vec<u64>>,
    bucket_secs: Option<u64>,
}

/// `[queue_defaults]` as written (and the same keys of one queue).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawQueueParams {
    sl_threshold_secs: Option<u32>,
    sl_target: Option<f64>,
    short_abandon_secs: Option<u32>,
    sl_abandons: Option<SlAbandons>,
}

/// One `[[queues]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    id: String,
    name: Option<String>,
    names: Option<Names>,
    sl_threshold_secs: Option<u32>,
    sl_target: Option<f64>,
    short_abandon_secs: Option<u32>,
    sl_abandons: Option<SlAbandons>,
}

/// One `[[teams]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeam {
    id: String,
    name: Option<String>,
    names: Option<Names>,
    lead: Option<String>,
}

impl RawFloorTables {
    /// Checks every key, pushing each problem; a bad value is replaced by its
    /// default so the sections that depend on the floor can still be checked.
    pub fn validate(self, errs: &mut Problems) -> FloorConfig {
        let RawFloorTables {
            floor,
            windows,
            queue_defaults: queue_defaults_raw,
            queues: queues_raw,
            teams: teams_raw,
        } = self;
        let tz_text = floor.timezone.as_deref().unwrap_or("Asia/Shanghai");
        let timezone = tz_text.parse::<Tz>().unwrap_or_else(|_| {
            errs.push(problem(
                "floor.timezone",
                format!("unknown time zone `{tz_text}` (use an IANA name such as Asia/Shanghai)"),
            ));
            Tz::Asia__Shanghai
        });

        let raw_shifts = floor.shifts.unwrap_or_else(|| {
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

        let bucket_secs = windows.bucket_secs.unwrap_or(10);
        if bucket_secs == 0 || bucket_secs > 300 {
            errs.push(problem("windows.bucket_secs", "must be between 1 and 300 seconds"));
        }
        let mut rolling_secs = windows.rolling_secs.unwrap_or_else(|| vec![900, 3600]);
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

        let queue_defaults = params(errs, "queue_defaults", &queue_defaults_raw, QueueParams::default());
        let mut queues = Vec::new();
        let mut ids = HashSet::new();
        for (i, q) in queues_raw.into_iter().enumerate() {
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
            let p = params(errs, &key, &raw, queue_defaults);
            queues.push(QueueConfig {
                name: q.name.unwrap_or_else(|| q.id.clone()),
                names: q.names.unwrap_or_default(),
                id: q.id,
                params: p,
            });
        }

        let mut teams = Vec::new();
        let mut team_ids = HashSet::new();
        for (i, t) in teams_raw.into_iter().enumerate() {
            if !valid_id(&t.id) {
                errs.push(problem(format!("teams[{i}].id"), format!("`{}` is not a valid id", t.id)));
            } else if !team_ids.insert(t.id.clone()) {
                errs.push(problem(format!("teams[{i}].id"), format!("team `{}` is defined twice", t.id)));
            }
            teams.push(TeamConfig {
                name: t.name.unwrap_or_else(|| t.id.clone()),
                names: t.names.unwrap_or_default(),
                id: t.id,
                lead: t.lead,
            });
        }

        let max_queues = positive(errs, "floor.max_queues", floor.max_queues, 2000);
        if queues.len() > max_queues {
            errs.push(problem(
                "floor.max_queues",
                format!("{} queues are configured but max_queues is {max_queues}", queues.len()),
            ));
        }
        // Ten snapshots a second on the clock's grid: the wallboard pushes on
        // the 200 ms grid, two of these, just after the engine has published, so
        // its updates carry fresh snapshots (and /api/floor is at most 100 ms old).
        let snapshot_interval_ms = floor.snapshot_interval_ms.unwrap_or(100);
        if !(50..=10_000).contains(&snapshot_interval_ms) {
            errs.push(problem("floor.snapshot_interval_ms", "must be between 50 and 10000"));
        }
        let call_retention_secs = floor.call_retention_secs.unwrap_or(4 * 3600);
        if call_retention_secs < 60 {
            errs.push(problem("floor.call_retention_secs", "must be at least 60 seconds"));
        }
        let checkpoint_secs = floor.checkpoint_secs.unwrap_or(5);
        if checkpoint_secs > 3600 {
            errs.push(problem(
                "floor.checkpoint_secs",
                "must be at most 3600 seconds (0 turns checkpoints off)",
            ));
        }
        FloorConfig {
            timezone,
            shifts,
            windows: WindowsConfig { rolling_secs, bucket_secs },
            snapshot_interval_ms,
            call_retention_ms: i64::try_from(call_retention_secs).unwrap_or(i64::MAX / 1000) * 1000,
            checkpoint_secs: checkpoint_secs.min(3600),
            max_queues,
            queue_defaults,
            queues,
            teams,
            limits: FloorLimits::default(),
        }
    }
}

fn positive(errs: &mut Problems, key: &str, v: Option<usize>, default: usize) -> usize {
    match v {
        Some(0) => {
            errs.push(problem(key, "must be greater than 0"));
            default
        }
        Some(n) => n,
        None => default,
    }
}

fn params(errs: &mut Problems, key: &str, raw: &RawQueueParams, base: QueueParams) -> QueueParams {
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
