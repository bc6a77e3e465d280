//! 话务异动 (`traffic_surge`): a queue's offered volume rises well above its expected level.
//!
//! The expected level is learned from the queue's own history: one discounted mean per
//! (local weekday, slot of the day), so the weekly pattern is learned, scaled by a bounded
//! recent-trend factor so a generally busier day does not page anyone. A slot with no
//! history falls back to the same slot on other days, then to the recent level.
//!
//! Significance: the count so far in the current interval is compared with the expected
//! count for the elapsed part. The test is a Poisson upper tail mixed over the uncertainty
//! of the learned mean (a Gamma posterior), i.e. a negative binomial tail; with a
//! well-learned slot it is the plain Poisson tail. An alert needs the tail probability below
//! `p_value`, at least `min_calls` calls and at least `ratio` × expected.
//!
//! Pure: no IO, no clock. Time comes in as UTC milliseconds.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Datelike, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

const DAYS: usize = 7;
/// Discount per weekly observation of a slot: about five weeks of memory, so the profile
/// follows slow drift while one odd day moves it only a little.
const SLOT_DECAY: f64 = 0.8;
/// Weight with which an interval judged surging is learned: a surge must not teach the
/// baseline that surges are normal, but a lasting shift is eventually absorbed.
const SURGE_WEIGHT: f64 = 0.1;
/// Discount per interval of the recent level (the fallback when no slot has history).
const RECENT_DECAY: f64 = 0.7;
/// Closed intervals that make up the recent trend (30 min at the default interval).
const TREND_WINDOW: usize = 6;
/// Pseudo-calls on both sides of the trend ratio, so quiet periods read as "no trend".
const TREND_PRIOR: f64 = 10.0;
const TREND_MIN: f64 = 0.5;
const TREND_MAX: f64 = 2.0;
/// Hysteresis: a surge ends after a full interval below this multiple of the expected count.
const END_RATIO: f64 = 1.2;
/// …or once a closed interval is not even mildly significant: on a queue of a few
/// calls an interval, 1.2× its level is ordinary noise (Poisson(13) reaches 16 one
/// time in four), and a surge that waited for a quiet interval would linger for
/// several intervals after the traffic had calmed. Entering needs strong evidence;
/// staying needs at least this much.
const END_P: f64 = 0.1;
/// Closed intervals the sustained-rise test sums (20 min at the default interval).
/// One interval at a time cannot see a small queue's surge: on a queue of 2–3 calls
/// per 5 minutes a 2–3× rise over 20–30 minutes has no single significant interval
/// (p ≈ 0.02–0.1 each, measured on the Anonymous Bank's prospects queue), but four
/// of them together are (docs/surge-detection.md).
const WINDOW: usize = 4;
/// Extra calls the window needs, as a multiple of `min_calls`: 20 minutes of a
/// queue must bring more beyond expectation than one interval does before a
/// supervisor is paged (15 at the default `min_calls`, the labels' own margin
/// for a 15-minute rise, docs/surge-detection.md).
const WINDOW_EXCESS: f64 = 1.5;
/// Effective observations below which a slot counts as unlearned.
const MIN_WEIGHT: f64 = 0.5;
/// A neighbouring slot shares a slot's level when their means differ by at most this
/// many standard errors. Leaving out a neighbour costs only precision; blending one in
/// across a step biases the expected level by a quarter of the step.
const NEIGHBOUR_Z: f64 = 3.0;
/// If `evaluate` was not called for this many intervals, the detector was not watching
/// (restart, outage): intervals without calls in that gap are unknown, not zero.
const MAX_GAP_INTERVALS: i64 = 3;
/// Bound on buffered interval counts, against a flood of absurd timestamps.
const MAX_PENDING: usize = 4096;
const PERSIST_VERSION: u32 = 1;

/// One queue's learned traffic profile and the detector state.
#[derive(Debug, Clone)]
pub struct SurgeDetector {
    cfg: SurgeConfig,
    tz: Tz,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurgeConfig {
    pub interval_secs: u32,    // counting interval, default 300 (5 min)
    pub min_calls: u32,        // don't alert below this many offered in the interval, default 10
    pub ratio: f64,            // observed must be at least ratio × expected, default 1.5
    pub p_value: f64,          // Poisson upper-tail significance, default 1e-4
    pub warmup_intervals: u32, // intervals of history before the profile is trusted, default 12
}

impl Default for SurgeConfig {
    fn default() -> Self {
        SurgeConfig { interval_secs: 300, min_calls: 10, ratio: 1.5, p_value: 1e-4, warmup_intervals: 12 }
    }
}

/// What the detector concluded for the interval just evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct SurgeVerdict {
    /// Offered calls counted in the current (possibly partial) interval: the raw count.
    pub observed: u32,
    /// Expected count for the same span.
    pub expected: f64,
    pub p_value: f64,
    pub surging: bool,
    /// The span `observed` and `expected` cover, in seconds (the elapsed part of the
    /// interval), so the caller can turn the count into a rate for [`agents_needed`].
    pub span_secs: f64,
}

impl SurgeVerdict {
    /// The observed arrival rate in calls per hour (0 for an empty span).
    pub fn observed_per_hour(&self) -> f64 {
        if self.span_secs > 0.0 { f64::from(self.observed) * 3600.0 / self.span_secs } else { 0.0 }
    }
}

/// Everything that evolves, in the form it is persisted (all of it, so a reload
/// continues exactly where the detector was; the gap rule handles the downtime).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    version: u32,
    interval_secs: u32,
    /// Discounted sum of counts and of weights per (weekday × slots_per_day + slot).
    sum: Vec<f64>,
    weight: Vec<f64>,
    learned: u64,
    recent_sum: f64,
    recent_weight: f64,
    /// (observed, profile mean, variance of that mean) of the last closed intervals that
    /// had a profile baseline.
    trend: VecDeque<(f64, f64, f64)>,
    /// Offered counts of intervals not yet closed, by interval index.
    pending: BTreeMap<i64, u32>,
    /// First interval not yet closed.
    cursor: Option<i64>,
    last_eval: Option<i64>,
    surging: bool,
    /// The last closed intervals, for the sustained-rise test: observed count, the
    /// profile's mean and Gamma shape (no trend), and the trend and its squared
    /// coefficient of variation as they stood when the interval was judged. Emptied
    /// when a surge ends, so its own intervals cannot raise it again.
    #[serde(default)]
    window: VecDeque<WindowEntry>,
    /// The sustained-rise verdict that raised the surge up now, if that test did.
    #[serde(default)]
    window_verdict: Option<SustainedVerdict>,
    /// Calm closed intervals in a row during a surge the sustained-rise test raised.
    #[serde(default)]
    calm_run: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct WindowEntry {
    observed: f64,
    mean: f64,
    shape: f64,
    trend: f64,
    trend_cv2: f64,
}

/// What the sustained-rise test saw over the window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct SustainedVerdict {
    observed: u32,
    expected: f64,
    p_value: f64,
    span_secs: f64,
}

/// Expected full-interval count as a Gamma(shape, rate) belief.
#[derive(Debug, Clone, Copy)]
struct Baseline {
    shape: f64,
    rate: f64,
    /// From the weekly profile (true) or the recent level (false, so no trend on top).
    profile: bool,
    /// From the slot's own history (not other days' or the recent level).
    own: bool,
}

struct Judged {
    verdict: SurgeVerdict,
    significant: bool,
}

impl SurgeDetector {
    pub fn new(cfg: SurgeConfig, tz: Tz) -> SurgeDetector {
        let cfg = sanitize(cfg);
        let n = DAYS * slots_per_day(cfg.interval_secs);
        let state = State {
            version: PERSIST_VERSION,
            interval_secs: cfg.interval_secs,
            sum: vec![0.0; n],
            weight: vec![0.0; n],
            learned: 0,
            recent_sum: 0.0,
            recent_weight: 0.0,
            trend: VecDeque::with_capacity(TREND_WINDOW),
            pending: BTreeMap::new(),
            cursor: None,
            last_eval: None,
            surging: false,
            window: VecDeque::with_capacity(WINDOW),
            window_verdict: None,
            calm_run: 0,
        };
        SurgeDetector { cfg, tz, state }
    }

    fn interval_ms(&self) -> i64 {
        i64::from(self.cfg.interval_secs) * 1000
    }

    /// Count one offered call at event time `ts`.
    pub fn offered(&mut self, ts: i64) {
        let idx = ts.div_euclid(self.interval_ms());
        // Too late: that interval is already learned. (Calls stamped far in the future, a
        // broken clock, are dropped by `evaluate`, which knows the time.)
        if self.state.cursor.is_some_and(|c| idx < c) {
            return;
        }
        let pending = &mut self.state.pending;
        if pending.len() >= MAX_PENDING && !pending.contains_key(&idx) {
            return;
        }
        let n = pending.entry(idx).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// The earliest time [`SurgeDetector::evaluate`] may say something it would
    /// not say at `now`, if no call is offered before: the open interval closes
    /// (a grace after its end), or, while the interval holds enough calls to
    /// be judged a surge, any moment (the partial interval's test moves with
    /// the elapsed part). Between the two its verdict and its learning stand
    /// still, so the rules need not evaluate it; they evaluate it at least once
    /// an interval, well within the gap (`MAX_GAP_INTERVALS`) that resets it.
    pub fn quiet_until(&self, now: i64) -> i64 {
        let ims = self.interval_ms();
        let grace = (ims / 10).min(10_000);
        let Some(cursor) = self.state.cursor else { return now };
        let close = cursor.saturating_add(1).saturating_mul(ims).saturating_add(grace);
        if self.state.surging || self.state.learned < u64::from(self.cfg.warmup_intervals) {
            return close;
        }
        let count = self.state.pending.get(&cursor).copied().unwrap_or(0);
        if count < self.cfg.min_calls {
            return close;
        }
        let Some(base) = self.baseline(cursor) else { return close };
        // A surge needs at least `ratio` × the expected count for the elapsed
        // part, which only grows: once below it, only a new call (or the close)
        // can make this interval a surge.
        let (mean, _) = self.judged_mean(base);
        let frac = ((now - cursor.saturating_mul(ims)) as f64 / ims as f64).clamp(0.0, 1.0);
        if f64::from(count) < self.cfg.ratio * mean * frac { close } else { now }
    }

    /// Evaluate at `now`: closes finished intervals into the profile (learning), and judges the
    /// current interval so far (a partial interval is compared with the expected count for the
    /// elapsed part, so a surge is seen before the interval ends). Returns None while warming up
    /// (or with no baseline at all, or if `now` went back before the open interval).
    pub fn evaluate(&mut self, now: i64) -> Option<SurgeVerdict> {
        let ims = self.interval_ms();
        // Late events get a short grace before their interval is closed for good.
        let grace = (ims / 10).min(10_000);
        let now_idx = now.div_euclid(ims);
        let week = (DAYS * slots_per_day(self.cfg.interval_secs)) as i64;
        let cursor = match self.state.cursor {
            Some(c) => c,
            None => {
                let first = self.state.pending.keys().next().copied().unwrap_or(now_idx);
                first.min(now_idx).max(now_idx.saturating_sub(week))
            }
        };
        // Not watching for a while: empty intervals in between are unknown, and the recent
        // level and trend are stale.
        let gap = self.state.last_eval.is_none_or(|l| now.saturating_sub(l) > MAX_GAP_INTERVALS * ims);
        if gap {
            self.state.trend.clear();
            self.state.window.clear();
            self.state.window_verdict = None;
            self.state.recent_sum = 0.0;
            self.state.recent_weight = 0.0;
        }
        self.state.last_eval = Some(self.state.last_eval.map_or(now, |l| l.max(now)));
        let mut cursor = cursor.max(now_idx.saturating_sub(week));
        let horizon = now_idx.saturating_add(week / DAYS as i64);
        self.state.pending.retain(|&k, _| k >= cursor && k <= horizon);
        // Intervals before `target` ended at least `grace` ago.
        let target = now.saturating_sub(grace).div_euclid(ims);
        while cursor < target {
            if gap {
                // Skip straight to the next interval that saw calls.
                let next = self.state.pending.range(cursor..).next().map_or(target, |(&k, _)| k.min(target));
                if next > cursor {
                    cursor = next;
                    continue;
                }
            }
            self.close(cursor, gap);
            cursor += 1;
        }
        self.state.cursor = Some(cursor);

        let start = cursor.saturating_mul(ims);
        if now < start || self.state.learned < u64::from(self.cfg.warmup_intervals) {
            return None;
        }
        // During the grace period this judges the just-ended interval in full.
        let frac = ((now - start) as f64 / ims as f64).min(1.0);
        let count = self.state.pending.get(&cursor).copied().unwrap_or(0);
        let base = self.baseline(cursor)?;
        let judged = self.judge(count, frac, base);
        if judged.significant {
            self.state.surging = true;
        } else if self.state.surging
            && let Some(w) = self.state.window_verdict
        {
            // Held up by the sustained rise: say what that rise is, not one
            // interval that alone looks ordinary.
            return Some(SurgeVerdict {
                observed: w.observed,
                expected: w.expected,
                p_value: w.p_value,
                surging: true,
                span_secs: w.span_secs,
            });
        }
        Some(SurgeVerdict { surging: self.state.surging, ..judged.verdict })
    }

    /// Close interval `idx`: judge it in full (entering or leaving a surge), then learn it.
    fn close(&mut self, idx: i64, gap: bool) {
        let count = self.state.pending.remove(&idx).unwrap_or(0);
        if gap && count == 0 {
            return;
        }
        let Some(key) = self.slot_key(idx) else { return };
        let base = self.baseline(idx);
        let mut surging_interval = false;
        if let Some(b) = base {
            let judged = self.judge(count, 1.0, b);
            if b.profile {
                if self.state.window.len() == WINDOW {
                    self.state.window.pop_front();
                }
                let (trend, trend_cv2) = self.trend();
                self.state.window.push_back(WindowEntry {
                    observed: f64::from(count),
                    mean: b.shape / b.rate,
                    shape: b.shape,
                    trend,
                    trend_cv2,
                });
            }
            // The window only raises a surge; it never holds one up, or every surge
            // would linger until its own intervals left the window.
            let sustained = if self.state.surging { None } else { self.sustained() };
            let calm =
                f64::from(count) < END_RATIO * judged.verdict.expected || judged.verdict.p_value > END_P;
            if judged.significant {
                self.state.surging = true;
                self.state.window_verdict = None;
                self.state.calm_run = 0;
            } else if sustained.is_some() {
                self.state.surging = true;
                self.state.window_verdict = sustained;
                self.state.calm_run = 0;
            } else if self.state.surging && calm {
                // A sustained rise is made of intervals that each look nearly
                // ordinary: one calm interval does not end it, two in a row do.
                self.state.calm_run += 1;
                if self.state.window_verdict.is_none() || self.state.calm_run >= 2 {
                    self.state.surging = false;
                    self.state.window_verdict = None;
                    self.state.calm_run = 0;
                    // A new surge must be a new rise, not the tail of this one.
                    self.state.window.clear();
                }
            } else if self.state.surging {
                self.state.calm_run = 0;
            }
            surging_interval = self.state.surging;
            // The trend stays frozen during a surge: the surge is judged, and ended, against
            // the level from before it, not against a trend that the surge itself inflated.
            if b.profile && !surging_interval {
                if self.state.trend.len() == TREND_WINDOW {
                    self.state.trend.pop_front();
                }
                self.state.trend.push_back((f64::from(count), b.shape / b.rate, b.shape / (b.rate * b.rate)));
            }
        }
        // Damping protects what the slot has learned. A slot judged against anything else
        // (other days, the recent level) has nothing to protect: damped, a floor's opening
        // interval, "surging" against the silent night on the first day, stayed unlearned
        // and was judged against the night again every morning.
        let own = base.is_some_and(|b| b.own);
        let w = if surging_interval && own { SURGE_WEIGHT } else { 1.0 };
        let c = f64::from(count);
        // Discounting by decay^w keeps a damped update consistent with a full one.
        let d = SLOT_DECAY.powf(w);
        self.state.sum[key] = d * self.state.sum[key] + w * c;
        self.state.weight[key] = d * self.state.weight[key] + w;
        // The recent level is what traffic is now, surge or not: it must keep up, or a
        // detector without a profile would never see the end of a surge.
        self.state.recent_sum = RECENT_DECAY * self.state.recent_sum + c;
        self.state.recent_weight = RECENT_DECAY * self.state.recent_weight + 1.0;
        self.state.learned = self.state.learned.saturating_add(1);
    }

    /// Index into the profile for interval `idx`: local weekday and slot of its start.
    fn slot_key(&self, idx: i64) -> Option<usize> {
        let t =
            DateTime::from_timestamp_millis(idx.checked_mul(self.interval_ms())?)?.with_timezone(&self.tz);
        let spd = slots_per_day(self.cfg.interval_secs);
        let slot = ((t.num_seconds_from_midnight() / self.cfg.interval_secs) as usize).min(spd - 1);
        Some(t.weekday().num_days_from_monday() as usize * spd + slot)
    }

    /// The expected full-interval count for `idx`: its own slot, else the same slot on the
    /// other days pooled, else the recent level.
    fn baseline(&self, idx: i64) -> Option<Baseline> {
        // The +0.5 is a Jeffreys-style prior: a slot that only ever saw zeros still expects
        // a little traffic, so the first call at night is not infinitely surprising.
        let gamma = |s: f64, w: f64, profile: bool| Baseline { shape: s + 0.5, rate: w, profile, own: false };
        let key = self.slot_key(idx)?;
        if self.state.weight[key] >= MIN_WEIGHT {
            let (s, w) = self.smoothed(key);
            return Some(Baseline { own: true, ..gamma(s, w, true) });
        }
        let spd = slots_per_day(self.cfg.interval_secs);
        let slot = key % spd;
        let (s, w) = (0..DAYS)
            .map(|d| self.smoothed(d * spd + slot))
            .fold((0.0, 0.0), |(s, w), (a, b)| (s + a, w + b));
        if w >= MIN_WEIGHT {
            return Some(gamma(s, w, true));
        }
        // The recent level lags a ramp (the morning rise) and says nothing about this time of
        // day: it is trusted like a single observation, however many intervals went into it.
        let (s, w) = (self.state.recent_sum, self.state.recent_weight);
        (w >= MIN_WEIGHT).then(|| gamma(s / w.max(1.0), w.min(1.0), false))
    }

    /// A slot's (sum, weight) with half the weight of each neighbouring slot (across
    /// midnight too) whose level is the slot's own within noise: one week's history of a
    /// slot is a single noisy count, and its neighbours nearly triple the information.
    /// Unbiased on a linear ramp. A neighbour across a step (a floor that opens at 07:00
    /// and closes at 21:05) is left out: blended in, it put a quarter of the step into
    /// the expected level, so the first open interval expected too little (an alert at
    /// every opening) and the last closed one expected calls that never came, which
    /// dragged the trend down to its floor for the rest of the day (measured on the US
    /// bank's 2003 volumes: docs/surge-detection.md).
    fn smoothed(&self, key: usize) -> (f64, f64) {
        let n = self.state.sum.len();
        let (s0, w0) = (self.state.sum[key], self.state.weight[key]);
        [key + n - 1, key + 1].iter().fold((s0, w0), |(s, w), &k| {
            let (sk, wk) = (self.state.sum[k % n], self.state.weight[k % n]);
            if similar_levels((s0, w0), (sk, wk)) { (s + 0.5 * sk, w + 0.5 * wk) } else { (s, w) }
        })
    }

    /// Bounded ratio of recent observed to profile-expected counts, and its squared
    /// coefficient of variation: Poisson noise of the observed side plus the uncertainty of
    /// the profile means it divides by.
    fn trend(&self) -> (f64, f64) {
        let (obs, exp, var) =
            self.state.trend.iter().fold((0.0, 0.0, 0.0), |(o, e, v), &(x, m, mv)| (o + x, e + m, v + mv));
        let trend = ((obs + TREND_PRIOR) / (exp + TREND_PRIOR)).clamp(TREND_MIN, TREND_MAX);
        let exp = exp + TREND_PRIOR;
        (trend, 1.0 / (obs + TREND_PRIOR) + var / (exp * exp))
    }

    /// The expected full-interval count for `base` with the trend on top, as a Gamma
    /// belief: (mean, shape).
    fn judged_mean(&self, base: Baseline) -> (f64, f64) {
        let (trend, trend_cv2) = if base.profile { self.trend() } else { (1.0, 0.0) };
        // The full-interval rate λ·trend is uncertain: λ ~ Gamma(shape, rate) from the
        // profile, times a trend with its own noise. It is taken as one Gamma with the same
        // mean whose squared coefficient of variation is the sum of both (as for a product
        // of independent factors, to first order).
        (base.shape / base.rate * trend, 1.0 / (1.0 / base.shape + trend_cv2))
    }

    /// The sustained-rise test over the last `WINDOW` closed intervals: their sum
    /// against the sum of their profile means, scaled by the trend as it stood
    /// before the window (a rise must not be judged against a trend it lifted
    /// itself), as one negative binomial: a Gamma with the summed mean and the
    /// variance of the profile means plus the trend's, which is common to all. One
    /// look per closed interval, so no alpha spending; the same `p_value` and
    /// `ratio` as the one-interval test, and `WINDOW_EXCESS` × `min_calls` calls
    /// above expectation, so a small queue's handful of extra calls pages nobody.
    fn sustained(&self) -> Option<SustainedVerdict> {
        let first = self.state.window.front()?;
        if self.state.window.len() < WINDOW {
            return None;
        }
        let (trend, cv2) = (first.trend, first.trend_cv2);
        let (obs, base, base_var) = self.state.window.iter().fold((0.0, 0.0, 0.0), |(o, m, v), e| {
            (o + e.observed, m + e.mean, v + e.mean * e.mean / e.shape.max(1e-9))
        });
        let mean = base * trend;
        if mean <= 0.0 {
            return None;
        }
        let var = base_var * trend * trend + mean * mean * cv2;
        let shape = if var > 0.0 { mean * mean / var } else { 1e9 };
        let rate = shape / mean;
        let count = obs as u32;
        let p = nb_upper_tail(count, shape, 1.0 / (rate + 1.0));
        let significant = p < self.cfg.p_value
            && obs >= self.cfg.ratio * mean
            && obs - mean >= WINDOW_EXCESS * f64::from(self.cfg.min_calls);
        significant.then(|| SustainedVerdict {
            observed: count,
            expected: mean,
            p_value: p,
            span_secs: (WINDOW as f64) * f64::from(self.cfg.interval_secs),
        })
    }

    /// Judge `count` calls over fraction `frac` of an interval against `base`.
    fn judge(&self, count: u32, frac: f64, base: Baseline) -> Judged {
        // The count over the span is Poisson(λ·trend·frac) mixed over the Gamma belief
        // in λ·trend: negative binomial with r = shape.
        let (mean, shape) = self.judged_mean(base);
        let rate = shape / mean;
        let expected = mean * frac;
        let p = nb_upper_tail(count, shape, frac / (rate + frac));
        let c = f64::from(count);
        // The current interval is looked at many times as it fills (every tick of the caller),
        // and each look is another chance for noise to cross the line. Spending the
        // significance in proportion to the elapsed part (alpha spending) keeps the early,
        // small-count looks strict; a real surge drives p far below either bound.
        let level = self.cfg.p_value * frac;
        let significant = p < level && count >= self.cfg.min_calls && c >= self.cfg.ratio * expected;
        let span_secs = frac * f64::from(self.cfg.interval_secs);
        Judged {
            verdict: SurgeVerdict { observed: count, expected, p_value: p, surging: significant, span_secs },
            significant,
        }
    }

    /// Calls the learned profile expects over `[from, to)` (ms), interval by
    /// interval, part intervals pro rata, without the recent trend: what staffing
    /// ahead plans for. `None` while any interval of the span has no baseline.
    pub fn expected_between(&self, from: i64, to: i64) -> Option<f64> {
        let len = self.interval_ms();
        if to <= from || len <= 0 {
            return Some(0.0);
        }
        let mut total = 0.0;
        let mut idx = from.div_euclid(len);
        while idx * len < to {
            let (a, b) = ((idx * len).max(from), ((idx + 1) * len).min(to));
            let base = self.baseline(idx)?;
            total += base.shape / base.rate.max(f64::MIN_POSITIVE) * (b - a) as f64 / len as f64;
            idx += 1;
        }
        Some(total)
    }

    /// The profile as JSON, to persist across restarts, and back.
    pub fn to_json(&self) -> String {
        // Serializing plain numbers and maps with integer keys cannot fail; an empty object
        // is refused by `from_json`, so even the impossible case loses nothing silently.
        serde_json::to_string(&self.state).unwrap_or_else(|_| String::from("{}"))
    }

    pub fn from_json(cfg: SurgeConfig, tz: Tz, json: &str) -> Option<SurgeDetector> {
        let cfg = sanitize(cfg);
        let state: State = serde_json::from_str(json).ok()?;
        let n = DAYS * slots_per_day(cfg.interval_secs);
        let ok_num = |x: &f64| x.is_finite() && *x >= 0.0;
        // A profile for another interval length has another slot layout: start afresh.
        let valid = state.version == PERSIST_VERSION
            && state.interval_secs == cfg.interval_secs
            && state.sum.len() == n
            && state.weight.len() == n
            && state.sum.iter().chain(&state.weight).all(ok_num)
            && ok_num(&state.recent_sum)
            && ok_num(&state.recent_weight)
            && state.trend.len() <= TREND_WINDOW
            && state.trend.iter().all(|(o, m, v)| ok_num(o) && ok_num(m) && ok_num(v))
            && state.window.len() <= WINDOW
            && state
                .window
                .iter()
                .all(|e| [e.observed, e.mean, e.shape, e.trend, e.trend_cv2].iter().all(ok_num))
            && state.pending.len() <= MAX_PENDING;
        valid.then_some(SurgeDetector { cfg, tz, state })
    }
}

/// Clamp a config into something the detector can work with.
fn sanitize(mut cfg: SurgeConfig) -> SurgeConfig {
    cfg.interval_secs = cfg.interval_secs.clamp(10, 86_400);
    if !(cfg.ratio.is_finite() && cfg.ratio >= 0.0) {
        cfg.ratio = SurgeConfig::default().ratio;
    }
    if !(cfg.p_value.is_finite() && cfg.p_value > 0.0) {
        cfg.p_value = SurgeConfig::default().p_value;
    }
    cfg
}

/// Whether two slots' learned means (discounted sum, weight) differ by no more than
/// `NEIGHBOUR_Z` standard errors of their difference (Poisson: the variance of a mean
/// is sum / weight²; the +0.5 keeps two silent slots comparable). A slot with no history
/// of its own has nothing to compare: its neighbours are all it has. A neighbour with
/// none would add almost no weight, only the risk of a level that is not this slot's.
fn similar_levels((s0, w0): (f64, f64), (s1, w1): (f64, f64)) -> bool {
    if w0 < MIN_WEIGHT || w1 < MIN_WEIGHT {
        return w0 < MIN_WEIGHT;
    }
    let diff = s0 / w0 - s1 / w1;
    let var = (s0 + 0.5) / (w0 * w0) + (s1 + 0.5) / (w1 * w1);
    diff * diff <= NEIGHBOUR_Z * NEIGHBOUR_Z * var
}

fn slots_per_day(interval_secs: u32) -> usize {
    86_400_u32.div_ceil(interval_secs.max(1)) as usize
}

/// P(X ≥ k) for X negative binomial with `r` successes (real, > 0) and failure probability
/// `q` per trial, i.e. mean r·q/(1−q). Equals the regularized incomplete beta I_q(k, r).
fn nb_upper_tail(k: u32, r: f64, q: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    inc_beta(q, f64::from(k), r)
}

/// Regularized incomplete beta I_x(a, b), by Lentz's continued fraction on whichever side
/// converges (Numerical Recipes §6.4); the prefactor is taken in log space so huge
/// arguments neither overflow nor lose the tiny tails the test needs.
fn inc_beta(x: f64, a: f64, b: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (-x).ln_1p();
    if x < (a + 1.0) / (a + b + 2.0) {
        (ln_front.exp() * beta_cf(x, a, b) / a).clamp(0.0, 1.0)
    } else {
        (1.0 - ln_front.exp() * beta_cf(1.0 - x, b, a) / b).clamp(0.0, 1.0)
    }
}

fn beta_cf(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    // Converges in O(√max(a, b)) steps; the cap only guards against pathological input.
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let s = C[1..].iter().enumerate().fold(C[0], |s, (i, c)| s + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + s.ln()
}

pub use super::erlang::agents_needed;

#[cfg(test)]
#[path = "surge_tests.rs"]
mod tests;
