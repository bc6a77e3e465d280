//! Surge labels for `benches/surge.rs`, drawn from the data alone: nothing here knows
//! how the detector works, so the detector is scored against an independent truth.
//!
//! The rule (docs/surge-detection.md gives the reasons):
//! - Counts are per 5-minute slot of the local day. A window of `w` consecutive slots
//!   (w = 1: a sharp burst; w = 3: a 15-minute rise too mild for any one slot) is
//!   compared with the *reference*: the same window on the other dates of the same
//!   weekday up to `NEAR_WEEKS` weeks either side, starting at the same slot and at the
//!   slots either side (three times as many looks; a slot's neighbours carry nearly
//!   the same level, and the median shrugs off the ones that do not).
//! - Baseline m = median of the reference; spread s = max(1.4826 · MAD, √max(m, 1)):
//!   the MAD is the robust day-to-day spread, and no count is less noisy than Poisson.
//! - The window is a surge when its count is at least m + K·s, at least `RATIO` × m
//!   and at least a minimum number of calls above m (8 for 5 minutes, 15 for 15
//!   minutes: `WINDOWS`). Every slot of it is marked.
//! - Marked slots separated by at most `MERGE_GAP` unmarked ones form one episode.
//!   Episodes do not cross midnight.

use chrono::{Datelike, NaiveDate};

/// Robust-sd units above the reference median.
pub(crate) const K: f64 = 4.0;
/// Relative margin: a surge is at least this multiple of the reference median.
pub(crate) const RATIO: f64 = 1.3;
/// Windows looked at, in slots, each with its absolute margin: calls above the median
/// below which an excess is not worth a supervisor's attention, however improbable
/// (8 extra calls in 5 minutes keep about 5 more agents busy at a 3-minute handle time).
pub(crate) const WINDOWS: [(usize, f64); 2] = [(1, 8.0), (3, 15.0)];
/// Unmarked slots allowed inside one episode.
pub(crate) const MERGE_GAP: usize = 1;
/// The reference takes weeks up to this far either side: a season's drift (the US
/// bank's evenings grow busier from spring to autumn) is not a surge.
pub(crate) const NEAR_WEEKS: i64 = 5;
pub(crate) const SLOT_SECS: i64 = 300;
pub(crate) const SLOTS: usize = 288;

/// One date's counts per 5-minute slot of the local day.
pub(crate) struct Day {
    pub(crate) date: NaiveDate,
    pub(crate) counts: Vec<u32>,
}

/// A labelled surge: slots [start, end) of `date`, local time.
#[derive(Debug, Clone)]
pub(crate) struct Episode {
    pub(crate) date: NaiveDate,
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// The largest count / reference median over its marked windows.
    pub(crate) peak_ratio: f64,
    /// Calls above the reference medians, summed over its 5-minute slots.
    pub(crate) excess: f64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Reference median and robust spread of the `w`-slot window at `slot` on `date`,
/// from the other dates of its weekday. None without at least two other dates.
fn reference(
    days: &[Day],
    date: NaiveDate,
    slot: usize,
    w: usize,
    hours: (usize, usize),
) -> Option<(f64, f64)> {
    let mut vals = Vec::new();
    let mut dates = 0;
    let near = |d: &Day| (d.date - date).num_days().abs() <= 7 * NEAR_WEEKS;
    for d in days.iter().filter(|d| d.date != date && d.date.weekday() == date.weekday() && near(d)) {
        dates += 1;
        for s in [slot.checked_sub(1), Some(slot), Some(slot + 1)].into_iter().flatten() {
            if s < hours.0 || s + w > hours.1 {
                continue;
            }
            vals.push(d.counts[s..s + w].iter().map(|&c| f64::from(c)).sum::<f64>());
        }
    }
    if dates < 2 {
        return None;
    }
    let m = median(&mut vals);
    let mut dev: Vec<f64> = vals.iter().map(|v| (v - m).abs()).collect();
    let mad = median(&mut dev);
    Some((m, (1.4826 * mad).max(m.max(1.0).sqrt())))
}

/// The episodes of every day, for slots in `hours` = [first, end) of the day.
// A window's slots index the counts, the marks and the baselines alike.
#[allow(clippy::needless_range_loop)]
pub(crate) fn label(days: &[Day], hours: (usize, usize)) -> Vec<Episode> {
    let mut out = Vec::new();
    for day in days {
        let mut marked = vec![false; SLOTS];
        let mut base = vec![f64::NAN; SLOTS];
        let mut ratio = vec![0.0_f64; SLOTS];
        for &(w, min_excess) in &WINDOWS {
            for s in hours.0..=hours.1.saturating_sub(w) {
                let Some((m, sd)) = reference(days, day.date, s, w, hours) else { continue };
                if w == 1 {
                    base[s] = m;
                }
                let x: f64 = day.counts[s..s + w].iter().map(|&c| f64::from(c)).sum();
                let surge = x >= m + K * sd && x >= RATIO * m && x - m >= min_excess;
                if surge {
                    for i in s..s + w {
                        marked[i] = true;
                        ratio[i] = ratio[i].max(x / m.max(1.0));
                    }
                }
            }
        }
        let mut s = hours.0;
        while s < hours.1 {
            if !marked[s] {
                s += 1;
                continue;
            }
            let start = s;
            let mut end = s + 1;
            let mut probe = end;
            while probe < hours.1 && probe <= end + MERGE_GAP {
                if marked[probe] {
                    end = probe + 1;
                }
                probe += 1;
            }
            let peak_ratio = ratio[start..end].iter().copied().fold(0.0, f64::max);
            let excess = (start..end)
                .map(|i| f64::from(day.counts[i]) - if base[i].is_nan() { 0.0 } else { base[i] })
                .sum();
            out.push(Episode { date: day.date, start, end, peak_ratio, excess });
            s = end;
        }
    }
    out
}
