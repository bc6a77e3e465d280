use super::*;

/// The fast path for `…Z` times must agree with chrono on every string it takes,
/// and leave everything else (errors included) to chrono.
#[test]
fn fast_utc_timestamps_agree_with_chrono() {
    let chrono_ms = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis());
    let mut cases: Vec<String> = BAD_AND_GOOD.iter().map(|s| s.to_string()).collect();
    // A sweep of days, months and years around leap-year rules, with fractions.
    for year in [1600, 1899, 1900, 1970, 1999, 2000, 2024, 2025, 2026, 2100, 2400] {
        for month in 1..=12 {
            for day in [1, 15, 28, 29, 30, 31] {
                cases.push(format!("{year:04}-{month:02}-{day:02}T13:07:42.0705Z"));
            }
        }
    }
    let mut frame = TsParser::new();
    for s in &cases {
        // Within a frame, a stamp is read against the previous one's date.
        assert_eq!(frame.parse(s).ok(), chrono_ms(s), "{s} after {:?}", frame.last_date);
        let fast = parse_utc_fast(s.as_bytes());
        if let Some(ms) = fast {
            assert_eq!(Some(ms), chrono_ms(s), "{s}");
        }
        assert_eq!(parse_ts(s).ok(), chrono_ms(s), "{s}");
        if let Err(e) = parse_ts(s) {
            // Chrono's words, after the input.
            assert_eq!(e.to_string(), format!("{s:?} is not an RFC 3339 time: {}", e.cause));
        }
    }
    assert!(parse_utc_fast(b"2026-11-23T08:00:01.250Z").is_some(), "the common form takes the fast path");
}

/// Stamps on both sides of every rule the fast path checks.
const BAD_AND_GOOD: &[&str] = &[
    "2026-11-23T08:00:00Z",
    "2026-11-23T08:00:01.250Z",
    "2026-11-23T08:00:01.2Z",
    "2026-11-23T08:00:01.123456789Z",
    "2026-11-23T08:00:01.1234567891Z",
    "2026-11-23T08:00:01.Z",
    "2026-11-23T08:00:01.12aZ",
    "2026-11-23T23:59:59.999Z",
    "2026-11-23T24:00:00Z",
    "2026-11-23T08:60:00Z",
    "2016-12-31T23:59:60Z",
    "2016-12-31T23:59:60.5Z",
    "2024-02-29T12:00:00Z",
    "2023-02-29T12:00:00Z",
    "2100-02-29T12:00:00Z",
    "2000-02-29T12:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-00-10T00:00:00Z",
    "2026-13-10T00:00:00Z",
    "2026-01-00T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "0001-03-01T00:00:00.001Z",
    "1969-12-31T23:59:59.999Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "2026-11-23t08:00:00Z",
    "2026-11-23 08:00:00Z",
    "2026-11-23T08:00:00z",
    "2026-11-23T08:00:00+08:00",
    "2026-11-23T08:00:00-00:30",
    "2026-11-23T08:00:00.5+01:00",
    "2026-11-23T08:00:00ZZ",
    "2026-11-23T08:00:00",
    "2026-11-23T08:00:0Z",
    "+026-11-23T08:00:00Z",
    "2026-11-23T08:00:00 Z",
    "2026/11/23T08:00:00Z",
    "",
    "Z",
    "２026-11-23T08:00:00Z",
];

#[test]
fn a_refusal_names_its_field() {
    let e = parse_ts("yesterday").expect_err("not a time");
    assert!(e.in_field("ts").starts_with("`ts` \"yesterday\" is not an RFC 3339 time: "), "{e}");
}
