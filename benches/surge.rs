//! The traffic-surge detector (话务异动) on real data — measured, printed, never asserted.
//!
//! `cargo bench --bench surge` drives the product's `SurgeDetector` the way
//! `rules::Rules` drives it: one detector per queue built with the config defaults
//! (`Config::default().alerts`, as `Rules::new` builds it), every offered call counted
//! into it at its own time (`Effect::Offered`), and `evaluate` at every 5-second sweep
//! of stream time, day and night (`Rules::on_tick`, `SWEEP_MS`); an alert is the
//! moment a verdict turns `surging`, its end the moment it stops (`check_surges`).
//!
//! Data sets, from `../shared/data` (or `/work/shared/data`):
//! - the US bank's 5-minute counts, 2003 (each interval's calls spread over it evenly,
//!   and, separately, at seeded uniform times, i.e. a Poisson process given its count);
//! - the Anonymous Bank's February 1999 log, offered calls per queue via the reader.
//!
//! Surges are labelled from the data by `support/surge_label.rs`, independently of
//! the detector. Knobs (to explore a tuning, not for the published table):
//! `SURGE_P_VALUE`, `SURGE_RATIO`, `SURGE_MIN_CALLS`, `SURGE_VERBOSE=1` (lists every
//! episode and every false alarm), `SURGE_TRACE=YYYY-MM-DD` (every verdict of that
//! local day, one per interval), `SURGE_ONLY=us|ab` (one data set).

#[path = "support/surge_label.rs"]
mod label;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Weekday};
use chrono_tz::Tz;
use floorwatch::config::Config;
use floorwatch::event::EventKind;
use floorwatch::ingest::anonymous_bank;
use floorwatch::rules::surge::{SurgeConfig, SurgeDetector};
use label::{Day, Episode, SLOT_SECS, SLOTS};
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

const MIN: i64 = 60_000;
const DAY: i64 = 24 * 60 * MIN;
/// `rules::SWEEP_MS`: the rules evaluate every surge detector at this cadence.
const SWEEP_MS: i64 = 5_000;
/// An alert counts for an episode when its firing span meets the episode widened by
/// this much on each side: labels sit on interval edges, the detector's verdicts do not.
const TOLERANCE_MS: i64 = 5 * MIN;
/// Recall is also given for the episodes peaking at this multiple of their reference
/// or more: the default `ratio`, below which the detector never alerts by design.
const STRONG: f64 = 1.5;

/// One queue's offered calls and what the labels need to know about them.
struct Series {
    name: String,
    tz: Tz,
    /// Offered calls, UTC ms, sorted.
    calls: Vec<i64>,
    /// The dates labelled (the data's own dates), with counts per local 5-minute slot.
    days: Vec<Day>,
    /// Labelled slots of the day: [first, end).
    hours: (usize, usize),
    /// Spans the daemon is taken not to have watched (days missing from the data).
    outages: Vec<(i64, i64)>,
    /// Days before this are the detector's learning period: not scored.
    score_from: NaiveDate,
    /// Days a week the centre takes calls, for false alarms per week.
    week_days: f64,
}

/// An alert: raised at `on`, cleared at `off` (None: still up at the end).
#[derive(Debug, Clone, Copy)]
struct Alert {
    on: i64,
    off: Option<i64>,
}

fn env_f64(key: &str) -> Option<f64> {
    std::env::var(key).ok().and_then(|v| v.parse().ok())
}

/// The detector's config exactly as `Rules::new` builds it from the config defaults
/// (config/floorwatch.toml sets the same values), unless a knob overrides it.
fn surge_config() -> SurgeConfig {
    let alerts = Config::default().alerts;
    let mut cfg = SurgeConfig {
        interval_secs: alerts.surge_interval_secs,
        warmup_intervals: alerts.surge_warmup_intervals,
        min_calls: alerts.surge_min_calls,
        ..SurgeConfig::default()
    };
    if let Some(p) = env_f64("SURGE_P_VALUE") {
        cfg.p_value = p;
    }
    if let Some(r) = env_f64("SURGE_RATIO") {
        cfg.ratio = r;
    }
    if let Some(m) = env_f64("SURGE_MIN_CALLS") {
        cfg.min_calls = m as u32;
    }
    cfg
}

fn data_dir() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = manifest.parent().map(|p| p.join("shared/data"));
    [rel, Some(PathBuf::from("/work/shared/data"))].into_iter().flatten().find(|p| p.is_dir())
}

fn local(tz: Tz, t: i64) -> (NaiveDate, usize) {
    let lt = DateTime::from_timestamp_millis(t).expect("time in range").with_timezone(&tz);
    (lt.date_naive(), (lt.num_seconds_from_midnight() as i64 / SLOT_SECS) as usize)
}

fn utc_of(tz: Tz, date: NaiveDate, slot: usize) -> i64 {
    let naive =
        date.and_hms_opt(0, 0, 0).expect("midnight") + chrono::TimeDelta::seconds(slot as i64 * SLOT_SECS);
    tz.from_local_datetime(&naive).earliest().expect("local time exists").timestamp_millis()
}

/// Drives one detector over the series as the rules would; returns its alerts.
fn run(s: &Series, cfg: SurgeConfig) -> Vec<Alert> {
    let mut det = SurgeDetector::new(cfg, s.tz);
    let mut alerts: Vec<Alert> = Vec::new();
    let Some(&first) = s.calls.first() else { return alerts };
    let last = s.calls[s.calls.len() - 1];
    let mut now = first.div_euclid(SWEEP_MS) * SWEEP_MS + SWEEP_MS;
    let end = last + 2 * 60 * MIN;
    let mut next = 0;
    let mut firing = false;
    let mut outages = s.outages.iter().peekable();
    let trace: Option<NaiveDate> = std::env::var("SURGE_TRACE").ok().and_then(|d| d.parse().ok());
    while now <= end {
        if let Some(&&(from, to)) = outages.peek() {
            if now >= to {
                outages.next();
                continue;
            }
            if now >= from {
                now = to.div_euclid(SWEEP_MS) * SWEEP_MS + SWEEP_MS;
                continue;
            }
        }
        while next < s.calls.len() && s.calls[next] <= now {
            det.offered(s.calls[next]);
            next += 1;
        }
        let verdict = det.evaluate(now);
        if let Some(t) = &trace
            && now % (5 * MIN) == 0
            && local(s.tz, now).0 == *t
        {
            println!("    trace {} {:?}", hhmm(local(s.tz, now).1), verdict);
        }
        if let Some(v) = verdict {
            if v.surging && !firing {
                alerts.push(Alert { on: now, off: None });
            } else if !v.surging && firing {
                if let Some(a) = alerts.last_mut() {
                    a.off = Some(now);
                }
            }
            firing = v.surging;
        }
        now += SWEEP_MS;
    }
    alerts
}

#[derive(Default)]
struct Score {
    days: usize,
    episodes: usize,
    alerts: usize,
    true_alerts: usize,
    caught: usize,
    /// Episodes peaking at or above the detector's `ratio`, and how many were caught.
    strong: usize,
    strong_caught: usize,
    /// Caught only by an alert raised for an earlier episode.
    covered: usize,
    delays_min: Vec<f64>,
    ordinary_days: usize,
    ordinary_false: usize,
    week_days: f64,
}

fn percentile(v: &[f64], p: f64) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    (!v.is_empty()).then(|| v[((v.len() - 1) as f64 * p).round() as usize])
}

fn fmt_min(t: Option<f64>) -> String {
    t.map_or_else(|| "–".into(), |m| format!("{m:.1}"))
}

fn hhmm(slot: usize) -> String {
    let m = slot as i64 * SLOT_SECS / 60;
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn score(s: &Series, episodes: &[Episode], alerts: &[Alert], strong_ratio: f64, verbose: bool) -> Score {
    let start = utc_of(s.tz, s.score_from, 0);
    let episodes: Vec<&Episode> = episodes.iter().filter(|e| e.date >= s.score_from).collect();
    let alerts: Vec<Alert> = alerts.iter().copied().filter(|a| a.on >= start).collect();
    let span = |e: &Episode| (utc_of(s.tz, e.date, e.start), utc_of(s.tz, e.date, e.end));
    // Raised for the episode: from just before it starts to just after it ends.
    let raised_for =
        |a: &Alert, (from, to): (i64, i64)| a.on >= from - TOLERANCE_MS && a.on <= to + TOLERANCE_MS;
    // An alert raised for an earlier episode and still up covers a later one (one
    // surge the labels split in two): caught, but no delay of its own.
    let covers = |a: &Alert, (from, _): (i64, i64)| a.on < from && a.off.is_none_or(|off| off > from);
    let mut sc =
        Score { episodes: episodes.len(), alerts: alerts.len(), week_days: s.week_days, ..Score::default() };
    let mut surge_days = BTreeSet::new();
    for e in &episodes {
        surge_days.insert(e.date);
        let sp = span(e);
        let first = alerts.iter().filter(|a| raised_for(a, sp)).map(|a| a.on).min();
        let covered = first.is_none()
            && alerts.iter().any(|a| covers(a, sp) && episodes.iter().any(|e| raised_for(a, span(e))));
        let strong = e.peak_ratio >= strong_ratio;
        sc.strong += usize::from(strong);
        sc.strong_caught += usize::from(strong && (first.is_some() || covered));
        if let Some(on) = first {
            sc.caught += 1;
            sc.delays_min.push((on - sp.0) as f64 / MIN as f64);
        } else if covered {
            sc.caught += 1;
            sc.covered += 1;
        }
        if verbose {
            let d = match first {
                Some(on) => format!("alert after {:+.1} min", (on - sp.0) as f64 / MIN as f64),
                None if covered => "covered by an alert still up".to_string(),
                None => "missed".to_string(),
            };
            println!(
                "    episode {} {} {}–{} ×{:.2} peak, +{:.0} calls: {d}",
                e.date,
                e.date.weekday(),
                hhmm(e.start),
                hhmm(e.end),
                e.peak_ratio,
                e.excess
            );
        }
    }
    let ordinary: BTreeSet<NaiveDate> =
        s.days.iter().map(|d| d.date).filter(|d| *d >= s.score_from && !surge_days.contains(d)).collect();
    sc.days = s.days.iter().filter(|d| d.date >= s.score_from).count();
    sc.ordinary_days = ordinary.len();
    for a in &alerts {
        let matched = episodes.iter().any(|e| raised_for(a, span(e)));
        if matched {
            sc.true_alerts += 1;
            continue;
        }
        let (date, slot) = local(s.tz, a.on);
        if ordinary.contains(&date) {
            sc.ordinary_false += 1;
        }
        if verbose {
            let dur = a.off.map_or_else(
                || "still up".into(),
                |off| format!("{:.1} min", (off - a.on) as f64 / MIN as f64),
            );
            let kind = if ordinary.contains(&date) { "ordinary day" } else { "surge day" };
            println!("    false alarm {date} {} {} ({dur}, {kind})", date.weekday(), hhmm(slot));
        }
    }
    sc
}

fn print_header() {
    println!(
        "| data set | queue | scored days | labelled surges | alerts | true alerts | precision | recall | of which covered | recall, peak ≥ 1.5× | median delay (min) | max delay (min) | ordinary days | false alarms on them | false alarms / week | time |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}

fn ratio(a: usize, b: usize) -> String {
    if b == 0 { "–".into() } else { format!("{:.2}", a as f64 / b as f64) }
}

fn print_row(set: &str, queue: &str, sc: &Score, secs: f64) {
    let per_week = if sc.ordinary_days == 0 {
        "–".into()
    } else {
        format!("{:.2}", sc.ordinary_false as f64 / sc.ordinary_days as f64 * sc.week_days)
    };
    let strong = ratio(sc.strong_caught, sc.strong);
    println!(
        "| {set} | {queue} | {} | {} | {} | {} | {} | {} | {} | {strong} ({}/{}) | {} | {} | {} | {} | {per_week} | {secs:.2} s |",
        sc.days,
        sc.episodes,
        sc.alerts,
        sc.true_alerts,
        ratio(sc.true_alerts, sc.alerts),
        ratio(sc.caught, sc.episodes),
        sc.covered,
        sc.strong_caught,
        sc.strong,
        fmt_min(percentile(&sc.delays_min, 0.5)),
        fmt_min(percentile(&sc.delays_min, 1.0)),
        sc.ordinary_days,
        sc.ordinary_false,
    );
}

fn merge(into: &mut Score, sc: Score) {
    into.days += sc.days;
    into.episodes += sc.episodes;
    into.alerts += sc.alerts;
    into.true_alerts += sc.true_alerts;
    into.caught += sc.caught;
    into.strong += sc.strong;
    into.strong_caught += sc.strong_caught;
    into.covered += sc.covered;
    into.delays_min.extend(sc.delays_min);
    into.ordinary_days += sc.ordinary_days;
    into.ordinary_false += sc.ordinary_false;
    into.week_days = sc.week_days;
}

/// US bank holidays in the range: the centre was closed, so a live daemon would have
/// watched a day without calls. The other missing weekdays are missing data.
const US_HOLIDAYS: [(i32, u32, u32); 3] = [(2003, 5, 26), (2003, 7, 4), (2003, 9, 1)];

#[derive(Clone, Copy)]
enum Spread {
    Even,
    Uniform(u64),
}

fn us_bank(dir: &Path, spread: Spread) -> anyhow::Result<Series> {
    let path = dir.join("us-bank-5min-2003/bank_calls.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut rows: Vec<(i64, u32)> = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let (Some(dt), Some(calls)) = (cols.get(1), cols.get(2)) else { continue };
        // The `Z` is misleading: these are the centre's local clock times. The detector
        // runs in UTC on them, which keeps the local day's shape.
        let dt = NaiveDateTime::parse_from_str(dt.trim_matches('"'), "%Y-%m-%dT%H:%M:%SZ")?;
        rows.push((dt.and_utc().timestamp_millis(), calls.trim().parse()?));
    }
    rows.sort_unstable();
    let tz = chrono_tz::UTC;
    let mut days: BTreeMap<NaiveDate, Vec<u32>> = BTreeMap::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(match spread {
        Spread::Uniform(seed) => seed,
        Spread::Even => 0,
    });
    let mut calls = Vec::new();
    for &(t0, n) in &rows {
        let (date, slot) = local(tz, t0);
        days.entry(date).or_insert_with(|| vec![0; SLOTS])[slot] += n;
        let width = (SLOT_SECS * 1000) as f64;
        match spread {
            Spread::Even => {
                calls.extend((0..n).map(|k| t0 + ((f64::from(k) + 0.5) * width / f64::from(n)) as i64));
            }
            Spread::Uniform(_) => calls.extend((0..n).map(|_| t0 + (rng.random::<f64>() * width) as i64)),
        }
    }
    calls.sort_unstable();
    let (first, last) = (*days.keys().next().expect("rows"), *days.keys().last().expect("rows"));
    let holidays: Vec<NaiveDate> =
        US_HOLIDAYS.iter().map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("date")).collect();
    let outages = first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .filter(|d| !days.contains_key(d) && !holidays.contains(d))
        .map(|d| (utc_of(tz, d, 0), utc_of(tz, d, 0) + DAY))
        .collect();
    // Four weeks of weekdays to learn the week's profile, as a new site would.
    let score_from = *days.keys().nth(20).expect("more than four weeks");
    let name = match spread {
        Spread::Even => "even".to_string(),
        Spread::Uniform(seed) => format!("uniform, seed {seed}"),
    };
    Ok(Series {
        name,
        tz,
        calls,
        days: days.into_iter().map(|(date, counts)| Day { date, counts }).collect(),
        // 07:00 … 21:00, the intervals in the file.
        hours: (84, 253),
        outages,
        score_from,
        week_days: 5.0,
    })
}

fn anonymous_bank(dir: &Path) -> anyhow::Result<Vec<Series>> {
    let path = dir.join("anonymous-bank-1999/data_anonymous_bank_february.txt");
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let reading = anonymous_bank::read(&text, &anonymous_bank::Options::default())?;
    let tz = chrono_tz::Asia::Jerusalem;
    let mut by_queue: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for ev in &reading.events {
        if let EventKind::CallOffered { queue, .. } = &ev.kind {
            by_queue.entry(queue.to_string()).or_default().push(ev.ts);
        }
    }
    let dates: Vec<NaiveDate> =
        NaiveDate::from_ymd_opt(1999, 2, 1).expect("date").iter_days().take(28).collect();
    let mut out = Vec::new();
    for (queue, mut calls) in by_queue {
        calls.sort_unstable();
        let mut days: BTreeMap<NaiveDate, Vec<u32>> = dates.iter().map(|&d| (d, vec![0; SLOTS])).collect();
        for &t in &calls {
            let (date, slot) = local(tz, t);
            if let Some(c) = days.get_mut(&date) {
                c[slot] += 1;
            }
        }
        out.push(Series {
            name: queue,
            tz,
            calls,
            days: days.into_iter().map(|(date, counts)| Day { date, counts }).collect(),
            hours: (0, SLOTS),
            outages: Vec::new(),
            // A month is all there is: one week to learn, three scored.
            score_from: dates[7],
            week_days: 7.0,
        });
    }
    Ok(out)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("surge bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> anyhow::Result<()> {
    let Some(dir) = data_dir() else {
        anyhow::bail!(
            "no data: expected ../shared/data next to {} or /work/shared/data (see docs/surge-detection.md)",
            env!("CARGO_MANIFEST_DIR")
        );
    };
    let verbose = std::env::var("SURGE_VERBOSE").is_ok_and(|v| v == "1");
    let cfg = surge_config();
    println!(
        "surge detector on real data: interval {} s, min_calls {}, ratio {}, p_value {:e}, warm-up {} intervals; evaluated every {} s of stream time; data from {}",
        cfg.interval_secs,
        cfg.min_calls,
        cfg.ratio,
        cfg.p_value,
        cfg.warmup_intervals,
        SWEEP_MS / 1000,
        dir.display()
    );
    println!(
        "labels: window of (slots, calls above median) {:?} ≥ median + {}·robust sd and ≥ {}× median; reference = same weekday, other weeks within ±{}, slot ±1; tolerance ±{} min",
        label::WINDOWS,
        label::K,
        label::RATIO,
        label::NEAR_WEEKS,
        TOLERANCE_MS / MIN
    );
    println!();
    print_header();
    let only = std::env::var("SURGE_ONLY").unwrap_or_default();
    for spread in [Spread::Even, Spread::Uniform(1)] {
        if only == "ab" {
            break;
        }
        let t0 = Instant::now();
        let s = us_bank(&dir, spread)?;
        let episodes = label::label(&s.days, s.hours);
        if verbose {
            println!("  us-bank ({}):", s.name);
        }
        let alerts = run(&s, cfg);
        let sc = score(&s, &episodes, &alerts, STRONG, verbose);
        print_row(&format!("US bank 2003 ({})", s.name), "all calls", &sc, t0.elapsed().as_secs_f64());
    }
    if only == "us" {
        return Ok(());
    }
    let t0 = Instant::now();
    let series = anonymous_bank(&dir)?;
    let read_secs = t0.elapsed().as_secs_f64();
    let mut total = Score::default();
    for s in &series {
        let t = Instant::now();
        let episodes = label::label(&s.days, s.hours);
        if verbose {
            println!("  anonymous-bank {}:", s.name);
        }
        let alerts = run(s, cfg);
        let sc = score(s, &episodes, &alerts, STRONG, verbose);
        print_row("Anonymous Bank Feb 1999", &s.name, &sc, t.elapsed().as_secs_f64());
        merge(&mut total, sc);
    }
    print_row("Anonymous Bank Feb 1999", "all queues", &total, t0.elapsed().as_secs_f64());
    println!();
    println!(
        "(reading the February file: {read_secs:.2} s; ordinary day = a scored day with no labelled surge on that queue)"
    );
    Ok(())
}
