//! Erlang C: the queue of random (Poisson) arrivals served by `n` agents with
//! exponential handle times, as staffing tables use it. Pure arithmetic; the
//! Erlang B recursion keeps it stable for large floors (no factorials).

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

/// The fewest agents whose service level within `t_secs` reaches `target`;
/// `None` for inputs that have no answer (a target outside (0, 1), no handle time).
pub fn agents_needed(calls_per_hour: f64, aht_secs: f64, t_secs: f64, target: f64) -> Option<u32> {
    if !(calls_per_hour.is_finite() && aht_secs.is_finite() && t_secs.is_finite()) {
        return None;
    }
    if calls_per_hour < 0.0 || aht_secs <= 0.0 || t_secs < 0.0 || !(target > 0.0 && target < 1.0) {
        return None;
    }
    let a = load(calls_per_hour, aht_secs);
    if a == 0.0 {
        return Some(0);
    }
    // Start just above the load: below it the queue grows without bound.
    let mut n = (a.floor() as u32).saturating_add(1);
    let limit = a + 50.0 * a.sqrt() + 100.0;
    while f64::from(n) <= limit {
        if service_level(n, a, aht_secs, t_secs) >= target {
            return Some(n);
        }
        n += 1;
    }
    None
}
