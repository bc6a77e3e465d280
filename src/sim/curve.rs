//! Traffic shape: the intraday arrival curve, the queues' shares of it and the
//! handling times that turn a floor size into a peak call rate.
//!
//! Kept apart from the event loop so the numbers that make the demo look like a
//! real bank floor sit in one place and can be tuned without touching routing.

/// Offered-call level per local hour, relative to the peak hour (10:00–11:00 = 1.0).
///
/// A bank's retail line: quiet overnight, ramp from 07:00, morning peak, a dip over
/// lunch, a smaller afternoon hump, decline after 17:00. The night floor is 0.5
/// (rather than the near-zero a real floor sees) so the demo is busy at any hour:
/// with the peak at 1.2 × a base rate this is the 0.6–1.2 band.
const HOURLY: [f64; 24] = [
    0.50, 0.50, 0.50, 0.50, 0.50, 0.50, // 00–05
    0.52, 0.62, 0.80, 0.93, 1.00, 0.97, // 06–11
    0.78, 0.85, 0.92, 0.90, 0.85, 0.72, // 12–17
    0.62, 0.58, 0.55, 0.53, 0.50, 0.50, // 18–23
];

/// The curve's level at a local second of the day, in (0, 1].
///
/// Interpolates linearly between hour midpoints so the rate has no steps on the
/// hour, which a surge detector would otherwise see as small jumps.
pub(super) fn daily_level(local_sec_of_day: f64) -> f64 {
    let h = (local_sec_of_day / 3600.0 - 0.5).rem_euclid(24.0);
    let i = h.floor() as usize % 24;
    let frac = h - h.floor();
    HOURLY[i] * (1.0 - frac) + HOURLY[(i + 1) % 24] * frac
}

/// The curve's highest level, used as the thinning bound.
pub(super) const PEAK_LEVEL: f64 = 1.0;

/// Unequal queue shares: the first queue gets the most traffic. With the default
/// three queues this is billing 45 %, cards 35 %, tech 20 %.
pub(super) fn queue_shares(n: usize) -> Vec<f64> {
    const WEIGHTS: [f64; 8] = [45.0, 35.0, 20.0, 15.0, 12.0, 10.0, 8.0, 6.0];
    let raw: Vec<f64> = (0..n).map(|i| WEIGHTS.get(i).copied().unwrap_or(5.0)).collect();
    let total: f64 = raw.iter().sum();
    raw.into_iter().map(|w| w / total).collect()
}

/// Mean talk time of a queue, seconds. Technical support calls run longer.
pub(super) fn mean_talk_secs(queue: &str) -> f64 {
    if queue.contains("tech") { 300.0 } else { 180.0 }
}

/// Mean seconds an agent rings before answering (uniform 2–6 s).
pub(super) const MEAN_RING_SECS: f64 = 4.0;
/// Share of calls put on hold once, and the mean length of that hold, seconds.
pub(super) const HOLD_SHARE: f64 = 0.25;
pub(super) const MEAN_HOLD_SECS: f64 = 37.5;
/// Mean after-call work, seconds, for a normal call (overruns come on top).
pub(super) const MEAN_ACW_SECS: f64 = 30.0;
/// Share of ACWs that overrun, and their mean length, seconds.
pub(super) const ACW_OVERRUN_SHARE: f64 = 0.05;
pub(super) const MEAN_ACW_OVERRUN_SECS: f64 = 275.0;

/// Average share of the floor away in `not_ready` (breaks, training, system).
const AWAY_SHARE: f64 = 0.11;
/// Occupancy aimed at in the peak hour: busy but not drowning, so answer rates stay
/// realistic and a surge visibly hurts.
const TARGET_OCCUPANCY: f64 = 0.82;

/// Mean handle time of a queue, seconds, counting ring, hold and after-call work.
pub(super) fn mean_handle_secs(queue: &str, overruns: bool) -> f64 {
    let acw = if overruns {
        MEAN_ACW_SECS * (1.0 - ACW_OVERRUN_SHARE) + MEAN_ACW_OVERRUN_SECS * ACW_OVERRUN_SHARE
    } else {
        MEAN_ACW_SECS
    };
    MEAN_RING_SECS + mean_talk_secs(queue) + HOLD_SHARE * MEAN_HOLD_SECS + acw
}

/// Peak offered calls per second for the whole floor that keeps the agents who are
/// not away about [`TARGET_OCCUPANCY`] busy.
pub(super) fn derived_peak_per_sec(agents: usize, queues: &[String], shares: &[f64], overruns: bool) -> f64 {
    let aht: f64 = queues.iter().zip(shares).map(|(q, s)| s * mean_handle_secs(q, overruns)).sum();
    if aht <= 0.0 {
        return 0.0;
    }
    agents as f64 * (1.0 - AWAY_SHARE) * TARGET_OCCUPANCY / aht
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_peaks_mid_morning_and_dips_at_lunch() {
        let at = |h: f64| daily_level(h * 3600.0);
        assert!((at(10.5) - 1.0).abs() < 1e-9);
        assert!(at(3.0) >= 0.5 && at(3.0) < 0.55);
        assert!(at(12.5) < at(11.5) && at(12.5) < at(14.5));
        assert!(at(18.5) < at(16.5));
        let (lo, hi) = (0..24 * 60)
            .map(|m| daily_level(m as f64 * 60.0))
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        assert!(lo >= 0.5 && hi <= PEAK_LEVEL, "{lo} {hi}");
    }

    #[test]
    fn default_shares_are_45_35_20() {
        let s = queue_shares(3);
        assert!((s[0] - 0.45).abs() < 1e-9 && (s[1] - 0.35).abs() < 1e-9);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
