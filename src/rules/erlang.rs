//! Erlang C: the queue of random (Poisson) arrivals served by `n` agents with
//! exponential handle times, as staffing tables use it. Pure arithmetic; the
//! Erlang B recursion keeps it stable for large floors (no factorials). One
//! copy for the surge detector's staffing advice and the shift's idle-time advice.

/// The offered load in Erlangs of `calls_per_hour` with `aht_secs` handle time.
pub fn load(calls_per_hour: f64, aht_secs: f64) -> f64 {
    calls_per_hour * aht_secs / 3600.0
}

/// The probability that a call waits (Erlang C) with `n` agents and `a`
/// Erlangs offered; 1 when the queue is unstable (`n <= a`).
pub fn wait_probability(n: u32, a: f64) -> f64 {
    if !(a.is_finite() && a > 0.0) {
        return 0.0;
    }
    if f64::from(n) <= a {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=n {
        b = a * b / (f64::from(k) + a * b);
    }
    let nf = f64::from(n);
    nf * b / (nf - a * (1.0 - b))
}

/// The share of calls answered within `t_secs`.
pub fn service_level(n: u32, a: f64, aht_secs: f64, t_secs: f64) -> f64 {
    if !(a.is_finite() && a > 0.0) {
        return 1.0;
    }
    if f64::from(n) <= a || aht_secs <= 0.0 {
        return 0.0;
    }
    1.0 - wait_probability(n, a) * (-(f64::from(n) - a) * t_secs / aht_secs).exp()
}

/// Erlang C: the fewest agents so that the share of calls answered within `threshold_secs`
/// reaches `target`, for `calls_per_hour` arrivals and `aht_secs` average handle time.
/// Returns None for nonsensical inputs (zero handle time, a target outside (0, 1), …).
/// Numerically stable for large loads: the Erlang B recursion, not factorials.
pub fn agents_needed(calls_per_hour: f64, aht_secs: f64, threshold_secs: f64, target: f64) -> Option<u32> {
    let finite = calls_per_hour.is_finite() && aht_secs.is_finite() && threshold_secs.is_finite();
    if !finite || calls_per_hour < 0.0 || aht_secs <= 0.0 || threshold_secs < 0.0 {
        return None;
    }
    // A share of exactly 1 is never reached by a queue with random arrivals.
    if !(target > 0.0 && target < 1.0) {
        return None;
    }
    let traffic = calls_per_hour * aht_secs / 3600.0; // offered load in Erlangs
    if traffic == 0.0 {
        return Some(0);
    }
    // Far beyond any answer: traffic + 50·√traffic + 100 agents meet any sane target.
    let limit = traffic + 50.0 * traffic.sqrt() + 100.0;
    if limit > f64::from(u32::MAX) {
        return None;
    }
    let mut blocking = 1.0; // Erlang B with 0 agents
    let mut n: u32 = 0;
    loop {
        n += 1;
        let nf = f64::from(n);
        blocking = traffic * blocking / (nf + traffic * blocking);
        if nf <= traffic {
            continue; // unstable queue: it grows without bound
        }
        let wait_prob = nf * blocking / (nf - traffic * (1.0 - blocking));
        let sl = 1.0 - wait_prob * (-(nf - traffic) * threshold_secs / aht_secs).exp();
        if sl >= target {
            return Some(n);
        }
        if nf > limit {
            return None;
        }
    }
}
