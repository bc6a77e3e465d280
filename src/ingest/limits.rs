//! The `[limits]` section: how much any input can make floorwatch hold, and how
//! fast one connection may send. Ingest owns the section because it is the edge
//! where input comes in; the floor's part (agents, calls, sources, teams,
//! components) is handed to the floor by `config` as plain numbers, since the
//! floor knows nothing of ingest. Where each limit is enforced (docs/limits.md):
//! - `max_field_bytes` at decode (`canonical::decode`), as `field_too_long`;
//! - the distinct-id limits in `Floor::apply`, refused whole and counted by the
//!   step, so the count is exact;
//! - `per_connection_events_per_sec` in the session's read loop ([`Throttle`]).

use serde::Deserialize;
use tokio::time::{Duration, Instant};

/// `(key, message)` problems, mapped onto file:line:key by `config`.
pub type Problems = Vec<(String, String)>;

/// The validated `[limits]` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    pub max_agents: usize,
    pub max_calls: usize,
    pub max_sources: usize,
    pub max_teams: usize,
    pub max_components: usize,
    /// Longest string field of an event (ids, names, reasons, callers, details), bytes.
    pub max_field_bytes: usize,
    /// Events a second one ingest connection may send before its reads pause.
    pub per_connection_events_per_sec: u32,
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        let mut errs = Problems::new();
        let c = RawLimits::default().validate(&mut errs);
        debug_assert!(errs.is_empty(), "built-in limits are invalid: {errs:?}");
        c
    }
}

/// `[limits]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    max_agents: Option<usize>,
    max_calls: Option<usize>,
    max_sources: Option<usize>,
    max_teams: Option<usize>,
    max_components: Option<usize>,
    max_field_bytes: Option<usize>,
    per_connection_events_per_sec: Option<u32>,
}

impl RawLimits {
    pub fn validate(self, errs: &mut Problems) -> LimitsConfig {
        let mut get = |key: &str, v: Option<usize>, default: usize, max: usize| match v {
            None => default,
            Some(n) if (1..=max).contains(&n) => n,
            Some(_) => {
                errs.push((format!("limits.{key}"), format!("must be between 1 and {max}")));
                default
            }
        };
        let max_agents = get("max_agents", self.max_agents, 50_000, 10_000_000);
        let max_calls = get("max_calls", self.max_calls, 200_000, 10_000_000);
        let max_sources = get("max_sources", self.max_sources, 1_000, 100_000);
        let max_teams = get("max_teams", self.max_teams, 1_000, 100_000);
        let max_components = get("max_components", self.max_components, 1_000, 100_000);
        // Below 64 a valid id (64 characters) could be refused; above 64 KiB a
        // single field is no longer a name.
        let max_field_bytes = match self.max_field_bytes {
            None => 256,
            Some(n) if (64..=65_536).contains(&n) => n,
            Some(_) => {
                errs.push(("limits.max_field_bytes".into(), "must be between 64 and 65536".into()));
                256
            }
        };
        let rate = self.per_connection_events_per_sec.unwrap_or(50_000);
        let per_connection_events_per_sec = if rate == 0 {
            errs.push(("limits.per_connection_events_per_sec".into(), "must be greater than 0".into()));
            50_000
        } else {
            rate
        };
        LimitsConfig {
            max_agents,
            max_calls,
            max_sources,
            max_teams,
            max_components,
            max_field_bytes,
            per_connection_events_per_sec,
        }
    }
}

/// One connection's token bucket: `rate` events a second, with a burst of one
/// second's worth. A frame is always taken whole (the events are decoded already
/// and lossless ingest never drops them); what the bucket decides is how long
/// the connection waits before it reads the next frame, so a flood fills the
/// sender's TCP window instead of the daemon's memory, and other connections,
/// each with its own bucket, go on.
#[derive(Debug)]
pub struct Throttle {
    rate: f64,
    burst: f64,
    /// Tokens left; negative after a frame larger than what was left (a debt
    /// the pause pays off).
    tokens: f64,
    at: Instant,
}

impl Throttle {
    pub fn new(events_per_sec: u32, now: Instant) -> Throttle {
        let rate = f64::from(events_per_sec.max(1));
        Throttle { rate, burst: rate, tokens: rate, at: now }
    }

    /// Takes `events` tokens at `now`; returns how long to pause before the
    /// next read (zero while within the rate).
    pub fn take(&mut self, events: usize, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.tokens -= events as f64;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.rate) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within its rate a connection never waits; a burst beyond it waits exactly
    /// as long as the rate takes to earn the excess back, and time refills it.
    #[test]
    fn the_bucket_pauses_only_above_its_rate() {
        let t0 = Instant::now();
        let mut b = Throttle::new(1000, t0);
        assert_eq!(b.take(600, t0), Duration::ZERO);
        assert_eq!(b.take(400, t0), Duration::ZERO, "a second's burst is free");
        let pause = b.take(500, t0);
        assert_eq!(pause, Duration::from_millis(500), "500 events over at 1000/s");
        // After paying that pause the debt is gone, and a steady 1000/s goes on unpaused.
        let mut now = t0 + pause;
        for _ in 0..10 {
            now += Duration::from_millis(100);
            assert_eq!(b.take(100, now), Duration::ZERO);
        }
    }

    #[test]
    fn bad_limits_are_named_and_replaced_by_defaults() {
        let raw: RawLimits =
            toml::from_str("max_agents = 0\nmax_field_bytes = 10\nper_connection_events_per_sec = 0")
                .expect("toml");
        let mut errs = Problems::new();
        let c = raw.validate(&mut errs);
        let keys: Vec<&str> = errs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["limits.max_agents", "limits.max_field_bytes", "limits.per_connection_events_per_sec"]
        );
        assert_eq!(c, LimitsConfig::default());
        assert_eq!(c.max_agents, 50_000);
    }
}
