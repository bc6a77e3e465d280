//! Per-queue call statistics over time windows.
//!
//! A [`Tally`] is what one stretch of time saw; [`Ring`] keeps one tally per
//! `bucket_ms` slice of event time for the rolling windows, and [`ShiftTally`] the
//! current and previous shift. Events land in the slice of their own `ts` (the offer
//! time for an offer, the answer time for an answer, ...), so the same stream gives
//! the same figures whatever order it arrives in; the engine's clock only decides
//! which slices a window covers right now.

use super::{QueueParams, SlAbandons};
use crate::event::Ts;

/// Counts for one stretch of event time. Each field is bumped at the event that
/// makes it known; see the module docs for which time a count belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Calls offered (by offer time).
    pub offered: u32,
    /// Calls answered (by answer time).
    pub answered: u32,
    /// Calls abandoned (by abandon time), short abandons included.
    pub abandoned: u32,
    /// Abandoned after waiting less than `short_abandon_secs`.
    pub abandoned_short: u32,
    /// Abandoned after waiting at least the short limit and at most T.
    pub abandoned_within_sl: u32,
    /// Answered calls whose offer (and so whose wait) is known.
    pub answered_with_wait: u32,
    /// Answered within T seconds of the offer.
    pub answered_within_sl: u32,
    /// Sum of the known waits of answered calls, ms (for ASA).
    pub answered_wait_ms: u64,
}

impl Tally {
    pub fn add(&mut self, o: &Tally) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.abandoned += o.abandoned;
        self.abandoned_short += o.abandoned_short;
        self.abandoned_within_sl += o.abandoned_within_sl;
        self.answered_with_wait += o.answered_with_wait;
        self.answered_within_sl += o.answered_within_sl;
        self.answered_wait_ms += o.answered_wait_ms;
    }

    /// Takes `o` away again (saturating): a window that loses a slice.
    pub fn sub(&mut self, o: &Tally) {
        self.offered = self.offered.saturating_sub(o.offered);
        self.answered = self.answered.saturating_sub(o.answered);
        self.abandoned = self.abandoned.saturating_sub(o.abandoned);
        self.abandoned_short = self.abandoned_short.saturating_sub(o.abandoned_short);
        self.abandoned_within_sl = self.abandoned_within_sl.saturating_sub(o.abandoned_within_sl);
        self.answered_with_wait = self.answered_with_wait.saturating_sub(o.answered_with_wait);
        self.answered_within_sl = self.answered_within_sl.saturating_sub(o.answered_within_sl);
        self.answered_wait_ms = self.answered_wait_ms.saturating_sub(o.answered_wait_ms);
    }

    /// Abandons that count (short ones are left out everywhere).
    fn abandoned_counted(&self) -> u32 {
        self.abandoned.saturating_sub(self.abandoned_short)
    }

    /// 接通率: answered / (answered + abandoned − short abandons).
    pub fn answer_rate(&self) -> Option<f64> {
        ratio(self.answered, self.answered + self.abandoned_counted())
    }

    /// Service level, in the variant the queue is configured for (see [`SlAbandons`]).
    /// Answers whose offer was never seen have no known wait and are left out.
    pub fn service_level(&self, p: &QueueParams) -> Option<f64> {
        let met = self.answered_within_sl;
        let ans = self.answered_with_wait;
        let ab = self.abandoned_counted();
        match p.sl_abandons {
            SlAbandons::Count => ratio(met, ans + ab),
            SlAbandons::Ignore => ratio(met, ans),
            SlAbandons::ExcludeWithinThreshold => {
                ratio(met, ans + ab.saturating_sub(self.abandoned_within_sl))
            }
            SlAbandons::MetWithinThreshold => ratio(met + self.abandoned_within_sl, ans + ab),
        }
    }

    /// Abandon rate: abandoned ÷ offered in the window (short abandons included:
    /// this is what callers did, not what the answer rate forgives).
    pub fn abandon_rate(&self) -> Option<f64> {
        ratio(self.abandoned, self.offered.max(self.abandoned))
    }

    /// Average speed of answer, seconds, over answers with a known wait.
    pub fn asa_secs(&self) -> Option<f64> {
        (self.answered_with_wait > 0)
            .then(|| self.answered_wait_ms as f64 / 1000.0 / f64::from(self.answered_with_wait))
    }
}

fn ratio(num: u32, den: u32) -> Option<f64> {
    (den > 0).then(|| f64::from(num) / f64::from(den))
}

/// Rolling-window storage: a ring of per-slice tallies, each tagged with the slice
/// number it holds, so a stale slot is recognised without any sweeping.
#[derive(Debug, Clone)]
pub struct Ring {
    bucket_ms: i64,
    slots: Vec<(i64, Tally)>,
    /// The latest slice written: a window that ends before it is summed without
    /// looking at the slices past it, and one that starts after it is empty (a
    /// quiet queue's periodic sums cost nothing, which is most of a replay's).
    newest: i64,
}

impl Ring {
    /// A ring long enough for the longest window, `span_ms`.
    pub fn new(bucket_ms: i64, span_ms: i64) -> Ring {
        let len = usize::try_from(span_ms / bucket_ms.max(1)).unwrap_or(1).max(1);
        Ring { bucket_ms: bucket_ms.max(1), slots: vec![(i64::MIN, Tally::default()); len], newest: i64::MIN }
    }

    /// The tally of the slice holding `ts`, or `None` when that slice has already
    /// been overwritten by a later one (the event is older than the longest window).
    pub fn at(&mut self, ts: Ts) -> Option<&mut Tally> {
        let n = ts.div_euclid(self.bucket_ms);
        let len = self.slots.len() as i64;
        let slot = &mut self.slots[usize::try_from(n.rem_euclid(len)).unwrap_or(0)];
        if slot.0 < n {
            *slot = (n, Tally::default());
            self.newest = self.newest.max(n);
        }
        (slot.0 == n).then_some(&mut slot.1)
    }

    /// Sum over the window of `window_ms` ending at `now`: slices whose start lies in
    /// `(now − window_ms, now]`.
    pub fn sum(&self, now: Ts, window_ms: i64) -> Tally {
        let end = now.div_euclid(self.bucket_ms);
        let count = (window_ms / self.bucket_ms).min(self.slots.len() as i64);
        let len = self.slots.len() as i64;
        let mut total = Tally::default();
        if count <= 0 {
            return total;
        }
        // One division for the first slot, then a wrapping index: the rules sum
        // a 90-slice window per touched queue per batch.
        let first = end - count + 1;
        let end = end.min(self.newest);
        if end < first {
            return total;
        }
        let mut at = usize::try_from(first.rem_euclid(len)).unwrap_or(0);
        for n in first..=end {
            let slot = &self.slots[at];
            if slot.0 == n {
                total.add(&slot.1);
            }
            at += 1;
            if at == self.slots.len() {
                at = 0;
            }
        }
        total
    }
}

impl Ring {
    /// How the window of `window_ms` summed at `now` ([`Ring::sum`]) changes
    /// with time alone: `f` is given its non-empty slices oldest first, each
    /// with the time it leaves the window, until it says stop; the time of that
    /// slice is returned. With [`Ring::entering`], the rules know when they must
    /// look at a window again (their "quiet until").
    pub fn leaving(&self, now: Ts, window_ms: i64, mut f: impl FnMut(&Tally) -> bool) -> Option<Ts> {
        let end = now.div_euclid(self.bucket_ms);
        let count = (window_ms / self.bucket_ms).min(self.slots.len() as i64);
        if count <= 0 {
            return None;
        }
        let len = self.slots.len() as i64;
        let first = end - count + 1;
        for n in first..=end.min(self.newest) {
            let s = &self.slots[usize::try_from(n.rem_euclid(len)).unwrap_or(0)];
            if s.0 == n && s.1 != Tally::default() && f(&s.1) {
                return Some((n + count) * self.bucket_ms);
            }
        }
        None
    }

    /// The start of the first slice written beyond `now` (a future-stamped
    /// event), which enters every window then.
    pub fn entering(&self, now: Ts) -> Option<Ts> {
        let end = now.div_euclid(self.bucket_ms);
        let len = self.slots.len() as i64;
        (end + 1..=self.newest.min(end + len))
            .find(|&n| {
                let s = &self.slots[usize::try_from(n.rem_euclid(len)).unwrap_or(0)];
                s.0 == n && s.1 != Tally::default()
            })
            .map(|n| n * self.bucket_ms)
    }

    /// Calls offered per `step_ms` over the `n` steps ending at `now`, oldest
    /// first: the wall's trend line. A step shorter than a slice counts whole slices.
    pub fn offered_series(&self, now: Ts, step_ms: i64, n: usize) -> Vec<u32> {
        let step = step_ms.max(self.bucket_ms);
        let per = (step / self.bucket_ms).max(1);
        let end = now.div_euclid(self.bucket_ms);
        let len = self.slots.len() as i64;
        let mut out = vec![0u32; n];
        for (i, v) in out.iter_mut().enumerate() {
            // Step i covers the `per` slices ending `(n - 1 - i) * per` before the newest.
            let last = end - (n - 1 - i) as i64 * per;
            for s in (last - per + 1)..=last {
                let slot = &self.slots[usize::try_from(s.rem_euclid(len)).unwrap_or(0)];
                if slot.0 == s {
                    *v += slot.1.offered;
                }
            }
        }
        out
    }

    /// The slice length and the slices holding counts, for a checkpoint.
    pub(super) fn parts(&self) -> (i64, impl Iterator<Item = (i64, &Tally)>) {
        let held = self.slots.iter().filter(|(n, t)| *n != i64::MIN && *t != Tally::default());
        (self.bucket_ms, held.map(|(n, t)| (*n, t)))
    }

    /// Puts back slices saved by [`Ring::parts`] from a ring of `bucket_ms`
    /// slices; `false` (and nothing restored) when that is not this ring's slice
    /// length. A ring shorter than the saved one keeps the newest slices.
    pub(super) fn restore_slices(
        &mut self,
        bucket_ms: i64,
        slices: impl Iterator<Item = (i64, Tally)>,
    ) -> bool {
        if bucket_ms != self.bucket_ms {
            return false;
        }
        let len = self.slots.len() as i64;
        for (n, t) in slices {
            let slot = &mut self.slots[usize::try_from(n.rem_euclid(len)).unwrap_or(0)];
            if slot.0 < n {
                *slot = (n, t);
                // `sum` stops at the newest slice written: restored ones count too.
                self.newest = self.newest.max(n);
            }
        }
        true
    }
}

/// Tallies for the current and the previous shift, keyed by the shift's start, so a
/// late event from just before a shift change still lands in its own shift.
#[derive(Debug, Clone, Default)]
pub struct ShiftTally {
    current: Option<(Ts, Tally)>,
    previous: Option<(Ts, Tally)>,
}

impl ShiftTally {
    /// The tally of the shift that started at `start`, or `None` for a shift older
    /// than the previous one.
    pub fn at(&mut self, start: Ts) -> Option<&mut Tally> {
        match self.current {
            Some((s, _)) if s == start => return self.current.as_mut().map(|c| &mut c.1),
            Some((s, _)) if s > start => {
                return match &mut self.previous {
                    Some((p, t)) if *p == start => Some(t),
                    _ => None,
                };
            }
            _ => {}
        }
        // A newer shift: the current one becomes the previous one.
        self.previous = self.current.take();
        self.current = Some((start, Tally::default()));
        self.current.as_mut().map(|c| &mut c.1)
    }

    /// The shifts held, previous first, for a checkpoint (restored through
    /// [`ShiftTally::at`] in the same order).
    pub(super) fn parts(&self) -> impl Iterator<Item = (Ts, &Tally)> {
        [&self.previous, &self.current].into_iter().flatten().map(|(s, t)| (*s, t))
    }

    /// The tally of the shift that started at `start`, empty if nothing was seen.
    pub fn get(&self, start: Ts) -> Tally {
        [self.current, self.previous]
            .into_iter()
            .flatten()
            .find(|(s, _)| *s == start)
            .map(|(_, t)| t)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bump(t: Option<&mut Tally>, n: u32) {
        if let Some(t) = t {
            t.offered += n;
        }
    }

    #[test]
    fn ring_sums_only_the_window() {
        let mut r = Ring::new(10_000, 3_600_000);
        for ts in [0, 5_000, 10_000, 899_999, 900_000, 3_599_999] {
            bump(r.at(ts), 1);
        }
        // (3_600_000 - 900_000, 3_600_000]: slices 270..=360 → the events at 2_700_000+.
        assert_eq!(r.sum(3_599_999, 900_000).offered, 1);
        assert_eq!(r.sum(3_599_999, 3_600_000).offered, 6);
        // Slices 1..=90: slice 0 (ts 0 and 5_000) starts exactly 15 min before, outside.
        assert_eq!(r.sum(900_000, 900_000).offered, 3);
        // Slice 0 (ts 0 and 5_000) has slid out of a 60 min window ending at 3_600_000.
        assert_eq!(r.sum(3_600_000, 3_600_000).offered, 4);
    }

    /// The wall's trend line: one count per minute, oldest first, ending with
    /// the minute of `now`; minutes past the ring's reach are zero.
    #[test]
    fn offered_series_counts_per_step_oldest_first() {
        let mut r = Ring::new(10_000, 3_600_000);
        // Minute 59 (the newest of 0..60): 3 calls; minute 58: 1; minute 0: 2.
        for (ts, n) in [(3_590_000, 2), (3_545_000, 1), (3_485_000, 1), (5_000, 2)] {
            bump(r.at(ts), n);
        }
        let s = r.offered_series(3_599_999, 60_000, 60);
        assert_eq!(s.len(), 60);
        assert_eq!((s[59], s[58], s[0]), (3, 1, 2), "{s:?}");
        assert_eq!(s.iter().sum::<u32>(), 6, "every call counted once");
        // A series longer than the ring reaches: the older steps are empty.
        let s = r.offered_series(3_599_999, 60_000, 120);
        assert_eq!((s[119], s[60], s[59]), (3, 2, 0), "{s:?}");
        let t = Tally { offered: 8, abandoned: 2, ..Tally::default() };
        assert_eq!(t.abandon_rate(), Some(0.25));
        assert_eq!(Tally::default().abandon_rate(), None);
    }

    /// The shortcut past the newest slice sums what the full walk sums, for
    /// windows before, across and after the slices written.
    #[test]
    fn ring_sums_past_its_newest_slice_as_the_full_walk() {
        let mut r = Ring::new(10_000, 900_000);
        for (i, ts) in [3_000i64, 40_000, 41_000, 300_000, 640_000].into_iter().enumerate() {
            bump(r.at(ts), i as u32 + 1);
        }
        let walk = |now: Ts, w: i64| {
            let end = now.div_euclid(10_000);
            let first = end - (w / 10_000).min(90) + 1;
            r.slots.iter().filter(|(n, _)| (first..=end).contains(n)).map(|(_, t)| t.offered).sum::<u32>()
        };
        for now in (0..2_000_000).step_by(7_919) {
            for w in [60_000, 300_000, 900_000] {
                assert_eq!(r.sum(now, w).offered, walk(now, w), "now {now} window {w}");
            }
        }
        assert_eq!(r.sum(1_600_000, 900_000).offered, 0, "a window after the newest slice is empty");
    }

    #[test]
    fn ring_drops_events_older_than_its_span_and_keeps_newer() {
        let mut r = Ring::new(10_000, 60_000);
        assert!(r.at(100_000).is_some());
        // Same slot (100_000 and 40_000 are 6 slices apart), older slice: refused.
        assert!(r.at(40_000).is_none());
        // A late event still inside the span is accepted.
        bump(r.at(95_000), 2);
        bump(r.at(100_000), 1);
        assert_eq!(r.sum(100_000, 60_000).offered, 3);
    }

    #[test]
    fn shift_tally_keeps_late_events_of_the_previous_shift() {
        let mut s = ShiftTally::default();
        bump(s.at(1000), 1);
        bump(s.at(2000), 5);
        bump(s.at(1000), 1);
        assert!(s.at(500).is_none());
        assert_eq!(s.get(1000).offered, 2);
        assert_eq!(s.get(2000).offered, 5);
        assert_eq!(s.get(3000).offered, 0);
    }

    #[test]
    fn service_level_variants() {
        // 10 answered with known wait, 8 within T; 4 abandoned: 1 short, 1 within T, 2 after.
        let t = Tally {
            offered: 14,
            answered: 10,
            answered_with_wait: 10,
            answered_within_sl: 8,
            abandoned: 4,
            abandoned_short: 1,
            abandoned_within_sl: 1,
            answered_wait_ms: 100_000,
        };
        let p = |a| QueueParams { sl_abandons: a, ..QueueParams::default() };
        assert_eq!(t.service_level(&p(SlAbandons::Count)), Some(8.0 / 13.0));
        assert_eq!(t.service_level(&p(SlAbandons::Ignore)), Some(8.0 / 10.0));
        assert_eq!(t.service_level(&p(SlAbandons::ExcludeWithinThreshold)), Some(8.0 / 12.0));
        assert_eq!(t.service_level(&p(SlAbandons::MetWithinThreshold)), Some(9.0 / 13.0));
        assert_eq!(t.answer_rate(), Some(10.0 / 13.0));
        assert_eq!(t.asa_secs(), Some(10.0));
        assert_eq!(Tally::default().answer_rate(), None);
        assert_eq!(Tally::default().service_level(&p(SlAbandons::Count)), None);
    }
}
