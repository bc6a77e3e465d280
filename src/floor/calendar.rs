//! Local-time boundaries: which shift and which day an instant belongs to, in the
//! floor's time zone. Results are cached because nearly every event falls in the
//! same shift and day as the one before it.

use chrono::{Days, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;

use super::ShiftConfig;
use crate::event::Ts;

/// One occurrence of a shift: `[start, end)` in UTC milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShiftSpan {
    /// Index into the configured shifts.
    pub index: usize,
    pub start: Ts,
    pub end: Ts,
}

#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    /// Sorted by start minute; never empty (config validation guarantees it).
    shifts: Vec<ShiftConfig>,
    shift_cache: Option<ShiftSpan>,
    day_cache: Option<(Ts, Ts)>,
}

impl Calendar {
    pub fn new(tz: Tz, shifts: Vec<ShiftConfig>) -> Calendar {
        let shifts = if shifts.is_empty() {
            vec![ShiftConfig { name: "day".into(), start_minute: 0 }]
        } else {
            shifts
        };
        Calendar { tz, shifts, shift_cache: None, day_cache: None }
    }

    pub fn shift_name(&self, index: usize) -> &str {
        self.shifts.get(index).map_or("", |s| s.name.as_str())
    }

    /// The shift occurrence containing `ts`.
    pub fn shift_at(&mut self, ts: Ts) -> ShiftSpan {
        if let Some(c) = self.shift_cache
            && c.start <= ts
            && ts < c.end
        {
            return c;
        }
        let span = self.compute_shift(ts);
        self.shift_cache = Some(span);
        span
    }

    /// Start of the local day containing `ts`.
    pub fn day_start(&mut self, ts: Ts) -> Ts {
        if let Some((start, end)) = self.day_cache
            && start <= ts
            && ts < end
        {
            return start;
        }
        let date = self.local(ts).date();
        let start = self.instant(date, 0);
        let end = self.instant(next_day(date), 0);
        self.day_cache = Some((start, end));
        start
    }

    fn local(&self, ts: Ts) -> NaiveDateTime {
        self.tz.timestamp_millis_opt(ts).single().map_or_else(
            || chrono::DateTime::from_timestamp_millis(ts).unwrap_or_default().naive_utc(),
            |t| t.naive_local(),
        )
    }

    /// UTC instant of a local date and minute of day. Across a DST jump the local
    /// time may not exist (take the first valid instant after) or exist twice (take
    /// the earlier).
    fn instant(&self, date: NaiveDate, minute: u32) -> Ts {
        let naive = date.and_hms_opt(minute / 60, minute % 60, 0).unwrap_or_default();
        for shift_min in [0i64, 30, 60, 120] {
            let probe = naive + chrono::Duration::minutes(shift_min);
            if let Some(t) = self.tz.from_local_datetime(&probe).earliest() {
                return t.timestamp_millis();
            }
        }
        naive.and_utc().timestamp_millis()
    }

    fn compute_shift(&self, ts: Ts) -> ShiftSpan {
        let local = self.local(ts);
        let minute = local.hour() * 60 + local.minute();
        let date = local.date();
        let n = self.shifts.len();
        let (index, start_date) = match self.shifts.iter().rposition(|s| s.start_minute <= minute) {
            Some(i) => (i, date),
            // Before the first shift start of the day: the last shift of yesterday.
            None => (n - 1, prev_day(date)),
        };
        let start = self.instant(start_date, self.shifts[index].start_minute);
        let (next_index, next_date) =
            if index + 1 < n { (index + 1, start_date) } else { (0, next_day(start_date)) };
        let end = self.instant(next_date, self.shifts[next_index].start_minute);
        // Guard against a zero-length span from a DST edge: never cache an empty range.
        let end = end.max(start + 1).max(ts + 1);
        ShiftSpan { index, start: start.min(ts), end }
    }
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.checked_add_days(Days::new(1)).unwrap_or(d)
}

fn prev_day(d: NaiveDate) -> NaiveDate {
    d.checked_sub_days(Days::new(1)).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Ts {
        chrono::DateTime::parse_from_rfc3339(s).map(|t| t.timestamp_millis()).unwrap_or(0)
    }

    fn shifts() -> Vec<ShiftConfig> {
        vec![
            ShiftConfig { name: "night".into(), start_minute: 0 },
            ShiftConfig { name: "day".into(), start_minute: 8 * 60 },
            ShiftConfig { name: "evening".into(), start_minute: 16 * 60 + 30 },
        ]
    }

    #[test]
    fn shifts_follow_local_time() {
        let mut c = Calendar::new(Tz::Asia__Shanghai, shifts());
        // 09:15 in Shanghai is 01:15Z: the day shift, 08:00–16:30 local.
        let s = c.shift_at(ms("2026-11-23T01:15:00Z"));
        assert_eq!(c.shift_name(s.index), "day");
        assert_eq!(s.start, ms("2026-11-23T00:00:00Z"));
        assert_eq!(s.end, ms("2026-11-23T08:30:00Z"));
        // 23:00 local: the evening shift, ending at local midnight.
        let s = c.shift_at(ms("2026-11-23T15:00:00Z"));
        assert_eq!(c.shift_name(s.index), "evening");
        assert_eq!(s.end, ms("2026-11-23T16:00:00Z"));
        assert_eq!(c.day_start(ms("2026-11-23T15:00:00Z")), ms("2026-11-22T16:00:00Z"));
    }

    #[test]
    fn before_first_start_is_yesterdays_last_shift() {
        let mut c = Calendar::new(
            Tz::UTC,
            vec![
                ShiftConfig { name: "day".into(), start_minute: 8 * 60 },
                ShiftConfig { name: "late".into(), start_minute: 20 * 60 },
            ],
        );
        let s = c.shift_at(ms("2026-11-23T03:00:00Z"));
        assert_eq!(c.shift_name(s.index), "late");
        assert_eq!(s.start, ms("2026-11-22T20:00:00Z"));
        assert_eq!(s.end, ms("2026-11-23T08:00:00Z"));
    }

    #[test]
    fn dst_transition_does_not_break_spans() {
        // Europe/Berlin springs forward at 02:00 local on 2026-03-29.
        let mut c = Calendar::new(
            Tz::Europe__Berlin,
            vec![ShiftConfig { name: "n".into(), start_minute: 2 * 60 + 30 }],
        );
        let ts = ms("2026-03-29T03:00:00Z");
        let s = c.shift_at(ts);
        assert!(s.start <= ts && ts < s.end, "{s:?}");
    }
}
