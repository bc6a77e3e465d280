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

/// One queue's demand over the horizon, for [`advise_queues`].
#[derive(Debug, Clone, PartialEq)]
pub struct QueueDemand {
    /// Calls the queue's learned profile (or its recent pace) expects.
    pub expected_calls: f64,
    /// The queue's own handle time today; `None` before it answered a call.
    pub aht_secs: Option<f64>,
    /// The queue's service-level threshold T and target share.
    pub sl_secs: f64,
    pub sl_target: f64,
}

/// The floor's advice built from its queues.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorAdvice {
    /// One per queue, in the order given; each sized with its own handle time.
    pub queues: Vec<Advice>,
    /// The sum of the queues' needs; `None` when any queue has no answer (a
    /// partial sum would understate the need and release too many).
    pub needed: Option<u32>,
    pub staffed: u32,
    pub releasable: u32,
}

/// Sizes every queue by Erlang C with its own handle time (the floor's,
/// `fallback_aht_secs`, while the queue has none) and its own target, and sums
/// the needs. A multi-skilled agent counts once in `staffed` (the floor's head
/// count) but the sum sizes each queue as if served alone: that is the
/// conservative side — pooling skills needs fewer — so the advice never sends
/// to training an agent a queue needs.
pub fn advise_queues(
    demands: &[QueueDemand],
    horizon_mins: u32,
    fallback_aht_secs: f64,
    staffed: u32,
) -> FloorAdvice {
    let queues: Vec<Advice> = demands
        .iter()
        .map(|d| {
            let aht = d.aht_secs.filter(|a| a.is_finite() && *a > 0.0).unwrap_or(fallback_aht_secs);
            // A queue's own staffing is not known apart from the shared floor: 0 here.
            advise(d.expected_calls, horizon_mins, aht, 0, d.sl_secs, d.sl_target)
        })
        .collect();
    let needed = queues.iter().try_fold(0u32, |sum, a| a.needed.map(|n| sum.saturating_add(n)));
    let releasable = needed.map_or(0, |n| staffed.saturating_sub(n));
    FloorAdvice { queues, needed, staffed, releasable }
}
