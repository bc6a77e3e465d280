//! Idle-time advice (话务空闲安排培训): for the next stretch of the shift, how
//! many agents the service-level target needs by Erlang C, from the traffic the
//! learned profile expects, and how many of those on the floor could go to
//! training. Pure: the expected calls and the staffing come in.

use crate::rules::erlang;

/// One queue's (or the floor's) advice.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    /// Calls per hour the profile expects over the horizon.
    pub expected_per_hour: f64,
    pub aht_secs: f64,
    /// Agents the target needs (Erlang C); `None` when there is no answer.
    pub needed: Option<u32>,
    /// Agents logged in and not on a break now.
    pub staffed: u32,
    /// `staffed − needed`, never below zero; 0 when `needed` is unknown.
    pub releasable: u32,
}

/// The advice for `expected_calls` over `horizon_mins`, with `staffed` agents
/// now and `aht_secs` handle time, against `target` within `t_secs`.
pub fn advise(
    expected_calls: f64,
    horizon_mins: u32,
    aht_secs: f64,
    staffed: u32,
    t_secs: f64,
    target: f64,
) -> Advice {
    let expected_per_hour =
        if horizon_mins == 0 { 0.0 } else { expected_calls.max(0.0) * 60.0 / f64::from(horizon_mins) };
    let needed = erlang::agents_needed(expected_per_hour, aht_secs, t_secs, target);
    let releasable = needed.map_or(0, |n| staffed.saturating_sub(n));
    Advice { expected_per_hour, aht_secs, needed, staffed, releasable }
}
