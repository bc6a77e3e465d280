//! RFC 3339 times to [`Ts`]: the protocol's `ts` and every time a person or a
//! query gives the HTTP API. One parser, so "a time floorwatch accepts" means the
//! same thing at ingest and at the API; each layer words its own refusal from
//! [`TsError`].

use super::Ts;

/// A string that is not an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an RFC 3339 time: {cause}")]
pub struct TsError {
    input: String,
    cause: chrono::ParseError,
}

impl TsError {
    /// The message naming the field the time came in (`` `ts` "…" is not … ``).
    pub fn in_field(&self, field: &str) -> String {
        format!("`{field}` {self}")
    }
}

/// RFC 3339 with any offset, to UTC milliseconds.
pub fn parse_ts(s: &str) -> Result<Ts, TsError> {
    if let Some(ts) = parse_utc_fast(s.as_bytes()) {
        return Ok(ts);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|cause| TsError { input: s.to_owned(), cause })
}

/// [`parse_ts`] for a run of times that nearly all share their date (the events
/// of one frame): the last date read (its exact bytes, already judged valid) is
/// kept with its day number, so most stamps only read their time of day.
#[derive(Debug, Default)]
pub struct TsParser {
    last_date: Option<([u8; 10], i64)>,
}

impl TsParser {
    pub fn new() -> TsParser {
        TsParser::default()
    }

    // Once per event, called from `ingest`: inlinable there as when it lived in
    // the decoder.
    #[inline]
    pub fn parse(&mut self, s: &str) -> Result<Ts, TsError> {
        let b = s.as_bytes();
        if let Some((date, days)) = &self.last_date
            && b.get(..10) == Some(&date[..])
            && let Some(ms) = utc_time_of_day(b)
        {
            return Ok(*days * MS_PER_DAY + ms);
        }
        if let (Some(days), Some(ms)) = (utc_date(b), utc_time_of_day(b)) {
            let mut date = [0u8; 10];
            date.copy_from_slice(&b[..10]);
            self.last_date = Some((date, days));
            return Ok(days * MS_PER_DAY + ms);
        }
        parse_ts(s)
    }
}

/// The form nearly every bridge sends, `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, read
/// without chrono's general parser (a fifth of decoding an event). Anything else —
/// another offset, a leap second, a lowercase `t`/`z`, an invalid field — returns
/// `None` and goes to chrono, so what is accepted and every error message stay
/// chrono's; a test checks both agree.
fn parse_utc_fast(b: &[u8]) -> Option<Ts> {
    Some(utc_date(b)? * MS_PER_DAY + utc_time_of_day(b)?)
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days since the epoch of the `YYYY-MM-DD` that starts `b`; `None` if it is not one.
fn utc_date(b: &[u8]) -> Option<i64> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(b, 0, 4)?, digits(b, 5, 7)?, digits(b, 8, 10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Milliseconds into the day of the `THH:MM:SS[.f{1,9}]Z` from byte 10 on.
fn utc_time_of_day(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, min, sec) = (digits(b, 11, 13)?, digits(b, 14, 16)?, digits(b, 17, 19)?);
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let ms = match &b[19..] {
        b"Z" => 0,
        [b'.', frac @ .., b'Z'] if (1..=9).contains(&frac.len()) => {
            // Milliseconds are the first three digits (chrono truncates the same way).
            let mut ms = 0;
            for (i, &d) in frac.iter().enumerate() {
                if !d.is_ascii_digit() {
                    return None;
                }
                if i < 3 {
                    ms += i64::from(d - b'0') * [100, 10, 1][i];
                }
            }
            ms
        }
        _ => return None,
    };
    Some(((hour * 60 + min) * 60 + sec) * 1000 + ms)
}

fn digits(b: &[u8], from: usize, to: usize) -> Option<i64> {
    b[from..to].iter().try_fold(0i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
