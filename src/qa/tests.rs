use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, TimeZone, Weekday};

use super::config::{QaConfig, RawQaConfig, RawSheetItem};
use super::sample::{self, Reason};
use super::score::{self, Grade};
use super::*;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// Monday 2026-11-02 00:00 in Shanghai.
fn monday() -> i64 {
    TZ.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).single().map(|t| t.timestamp_millis()).unwrap_or_default()
}

fn rule(seed: &str) -> Rule {
    Rule {
        id: "r1".into(),
        name: "November".into(),
        from_ms: monday(),
        to_ms: monday() + 30 * 86_400_000,
        rate: 0.03,
        per_agent_min: 3,
        seed: seed.into(),
        timezone: TZ,
        strata: Strata::default(),
        band: Some(0.3),
        new_agents: vec!["A4".into()],
        new_agent_factor: 2.0,
        watch_list: vec![],
        watch_factor: 2.0,
    }
}

/// A small PRNG for the fixture alone (not the sampler's): a floor of 4 agents
/// over four weeks, 8-20 calls a working day each, talk 30-600 s.
fn floor() -> Vec<CallRow> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut out = Vec::new();
    for day in 0..28 {
        let date = monday() + day * 86_400_000;
        let wd = TZ.timestamp_millis_opt(date).single().map(|t| t.weekday());
        if matches!(wd, Some(Weekday::Sat | Weekday::Sun)) {
            continue;
        }
        for agent in ["A1", "A2", "A3", "A4"] {
            let mut t = date + 9 * 3_600_000 + next(600_000) as i64;
            for _ in 0..(8 + next(13)) {
                let wait = 1000 + next(60_000) as i64;
                let talk = 30_000 + next(570_000) as i64;
                let id = format!("c{}", out.len());
                out.push(CallRow {
                    call: id,
                    offered_at: t,
                    queue: Some(if next(2) == 0 { "billing" } else { "sales" }.into()),
                    agent: Some(agent.into()),
                    caller: None,
                    answered_at: Some(t + wait),
                    abandoned_at: None,
                    ended_at: Some(t + wait + talk),
                });
                t += wait + talk + 60_000 + next(1_800_000) as i64;
            }
        }
    }
    // An abandoned call is never sampled: no agent, no recording.
    out.push(CallRow {
        call: "lost".into(),
        offered_at: monday() + 10 * 3_600_000,
        queue: Some("billing".into()),
        agent: None,
        caller: Some("13800138000".into()),
        answered_at: None,
        abandoned_at: Some(monday() + 10 * 3_600_000 + 5000),
        ended_at: None,
    });
    out
}

fn ids(s: &sample::Sample) -> Vec<String> {
    s.picks.iter().map(|p| p.call.call.clone()).collect()
}

#[test]
fn the_same_seed_picks_the_same_calls_in_any_input_order() {
    let calls = floor();
    let a = sample::sample(&rule("2026-11 published"), &calls);
    let mut reversed = calls.clone();
    reversed.reverse();
    let b = sample::sample(&rule("2026-11 published"), &reversed);
    assert_eq!(ids(&a), ids(&b));
    assert!(!a.picks.is_empty());
    let c = sample::sample(&rule("another seed"), &calls);
    assert_ne!(ids(&a), ids(&c), "the seed decides the rate picks");
}

#[test]
fn the_sample_meets_the_rate_and_every_weekly_minimum() {
    let calls = floor();
    let r = rule("s");
    let s = sample::sample(&r, &calls);
    let eligible = calls.iter().filter(|c| c.agent.is_some()).count();
    assert_eq!(s.eligible, eligible);
    assert_eq!(s.target, (0.03 * eligible as f64).ceil() as usize);
    let rate_picks = s.picks.iter().filter(|p| p.reasons.contains(&Reason::Rate)).count();
    assert_eq!(rate_picks, s.target, "exactly the rate's share is drawn");
    assert!(!s.picks.iter().any(|p| p.call.agent.is_none()));
    // Per agent and ISO week, counted here from the calls themselves.
    let mut weeks: BTreeMap<(String, u32), (usize, usize)> = BTreeMap::new();
    let picked: HashSet<&str> = s.picks.iter().map(|p| p.call.call.as_str()).collect();
    for c in calls.iter().filter(|c| c.agent.is_some()) {
        let t = TZ.timestamp_millis_opt(c.answered_at.unwrap_or_default()).single().expect("time");
        let e = weeks.entry((c.agent.clone().unwrap_or_default(), t.iso_week().week())).or_default();
        e.0 += 1;
        e.1 += usize::from(picked.contains(c.call.as_str()));
    }
    for ((agent, week), (n, got)) in weeks {
        let min = if agent == "A4" { 6 } else { 3 };
        assert!(got >= min.min(n), "{agent} week {week}: {got} picked of {n}, minimum {min}");
    }
}

#[test]
fn each_characteristic_call_is_in_the_sample() {
    let calls = floor();
    let s = sample::sample(&rule("s"), &calls);
    let with = |r: Reason| -> HashSet<String> {
        s.picks.iter().filter(|p| p.reasons.contains(&r)).map(|p| p.call.call.clone()).collect()
    };
    // Computed here directly: per agent and half-month.
    let mut halves: BTreeMap<(String, u32, bool), Vec<&CallRow>> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.agent.is_some()) {
        let t = TZ.timestamp_millis_opt(c.answered_at.unwrap_or_default()).single().expect("time");
        halves.entry((c.agent.clone().unwrap_or_default(), t.month(), t.day() > 15)).or_default().push(c);
    }
    let talk = |c: &CallRow| c.ended_at.unwrap_or_default() - c.answered_at.unwrap_or_default();
    let local = |c: &CallRow| TZ.timestamp_millis_opt(c.answered_at.unwrap_or_default()).single().expect("t");
    let (longest, shortest, monday, friday) = (
        with(Reason::Longest),
        with(Reason::Shortest),
        with(Reason::FirstOnMonday),
        with(Reason::LastOnFriday),
    );
    for (k, cs) in &halves {
        let l = cs.iter().max_by_key(|c| talk(c)).expect("calls");
        assert!(longest.contains(&l.call), "{k:?}: longest {} not picked", l.call);
        let sh = cs.iter().min_by_key(|c| talk(c)).expect("calls");
        assert!(shortest.contains(&sh.call), "{k:?}: shortest {} not picked", sh.call);
        if let Some(m) =
            cs.iter().filter(|c| local(c).weekday() == Weekday::Mon).min_by_key(|c| c.answered_at)
        {
            assert!(monday.contains(&m.call), "{k:?}: first on Monday {} not picked", m.call);
        }
        if let Some(f) =
            cs.iter().filter(|c| local(c).weekday() == Weekday::Fri).max_by_key(|c| c.answered_at)
        {
            assert!(friday.contains(&f.call), "{k:?}: last on Friday {} not picked", f.call);
        }
    }
    assert_eq!(longest.len(), halves.len());
    assert_eq!(with(Reason::AfterLongestGap).len(), halves.len());
}

#[test]
fn the_call_after_the_longest_gap_is_picked() {
    let base = monday() + 9 * 3_600_000;
    let call = |id: &str, at: i64, secs: i64| CallRow {
        call: id.into(),
        offered_at: at,
        queue: Some("q".into()),
        agent: Some("A1".into()),
        caller: None,
        answered_at: Some(at),
        abandoned_at: None,
        ended_at: Some(at + secs * 1000),
    };
    // Gaps after each end: 10 min, 40 min, 5 min.
    let calls = vec![
        call("a", base, 60),
        call("b", base + 660_000, 60),
        call("c", base + 660_000 + 60_000 + 2_400_000, 60),
        call("d", base + 660_000 + 60_000 + 2_400_000 + 60_000 + 300_000, 60),
    ];
    let s = sample::sample(&rule("s"), &calls);
    let after: Vec<&str> = s
        .picks
        .iter()
        .filter(|p| p.reasons.contains(&Reason::AfterLongestGap))
        .map(|p| p.call.call.as_str())
        .collect();
    assert_eq!(after, ["c"]);
}

#[test]
fn rate_picks_prefer_calls_near_the_days_mean() {
    let mut r = rule("s");
    r.per_agent_min = 0;
    r.rate = 0.1;
    r.band = Some(0.5);
    r.strata = Strata { queue: false, weekday: false, hour: false };
    let base = monday() + 9 * 3_600_000;
    // Ten calls of 300 s and ten of 30 s or 1200 s: mean 457.5 s, band ±50 %
    // (229-686 s): only the 300 s calls are within it.
    let calls: Vec<CallRow> = (0..20)
        .map(|i| {
            let secs = if i < 10 {
                300
            } else if i % 2 == 0 {
                30
            } else {
                1200
            };
            let at = base + i * 2_000_000;
            CallRow {
                call: format!("k{i}"),
                offered_at: at,
                queue: None,
                agent: Some(format!("A{i}")),
                caller: None,
                answered_at: Some(at),
                abandoned_at: None,
                ended_at: Some(at + secs * 1000),
            }
        })
        .collect();
    let s = sample::sample(&r, &calls);
    for p in s.picks.iter().filter(|p| p.reasons.contains(&Reason::Rate)) {
        assert_eq!(p.call.talk_secs(), Some(300.0), "{} is outside the band", p.call.call);
    }
}

#[test]
fn the_key_is_sha256_of_seed_call_and_offer_time() {
    // Re-runnable with any SHA-256 tool: printf 's:c1:1000' | sha256sum.
    // The expected value is that command's output, first 16 hex digits.
    assert_eq!(sample::key("s", "c1", 1000), 0x27d7_b127_44ad_303b);
    assert_ne!(sample::key("s", "c1", 1000), sample::key("s", "c1", 1001));
    assert_ne!(sample::key("s", "c1", 1000), sample::key("t", "c1", 1000));
}

#[test]
fn quotas_show_who_is_under_their_minimum_this_week() {
    let calls = floor();
    let r = rule("s");
    let s = sample::sample(&r, &calls);
    let now = monday() + 2 * 86_400_000;
    // A1's picks of the first week all reviewed; nobody else's.
    let week1 = |c: &CallRow| c.answered_at.is_some_and(|t| t < monday() + 7 * 86_400_000);
    let reviews: Vec<ReviewRow> = s
        .picks
        .iter()
        .filter(|p| p.call.agent.as_deref() == Some("A1") && week1(&p.call))
        .map(|p| ReviewRow {
            id: 0,
            call: p.call.call.clone(),
            rule_id: None,
            agent: "A1".into(),
            reviewer: "qa".into(),
            reviewed_at: now,
            deductions: "[]".into(),
            score: 95.0,
            note: None,
        })
        .collect();
    let q = quotas(&r, &calls, &reviews, now);
    let get = |a: &str| q.iter().find(|q| q.agent == a).cloned().expect("agent");
    assert!(!get("A1").under(), "{:?}", get("A1"));
    assert!(get("A2").under());
    assert_eq!(get("A4").minimum, 6);
    assert!(get("A1").picked >= 3);
}

#[test]
fn a_rule_is_checked_field_by_field() {
    let ok = rule("s");
    assert_eq!(ok.check(), Ok(()));
    let bad = |f: &dyn Fn(&mut Rule)| {
        let mut r = rule("s");
        f(&mut r);
        r.check().err().map(|e| e.0)
    };
    assert_eq!(bad(&|r| r.rate = 0.0), Some("rate"));
    assert_eq!(bad(&|r| r.rate = 3.0), Some("rate"));
    assert_eq!(bad(&|r| r.to_ms = r.from_ms), Some("to"));
    assert_eq!(bad(&|r| r.seed.clear()), Some("seed"));
    assert_eq!(bad(&|r| r.id = "a b".into()), Some("id"));
    assert_eq!(bad(&|r| r.band = Some(-1.0)), Some("band"));
    assert_eq!(bad(&|r| r.watch_factor = 0.5), Some("watch_factor"));
}

#[test]
fn grade_bands_and_scores() {
    for (s, g) in [
        (100.0, Grade::Excellent),
        (90.0, Grade::Excellent),
        (89.9, Grade::Good),
        (85.0, Grade::Good),
        (84.9, Grade::NeedsImprovement),
        (75.0, Grade::NeedsImprovement),
        (74.9, Grade::Fail),
        (0.0, Grade::Fail),
    ] {
        assert_eq!(Grade::of(s), g, "{s}");
    }
    let sheet = QaConfig::default().sheet;
    assert_eq!(sheet.iter().map(|i| i.points).sum::<f64>(), 100.0);
    assert_eq!(score::score(&sheet, &[("greeting".into(), 5.0), ("accuracy".into(), 10.0)]), Ok(85.0));
    assert_eq!(score::score(&sheet, &[]), Ok(100.0));
    assert_eq!(score::score(&sheet, &[("nope".into(), 1.0)]).map_err(|e| e.0), Err(0));
    assert_eq!(score::score(&sheet, &[("greeting".into(), 11.0)]).map_err(|e| e.0), Err(0));
    assert_eq!(
        score::score(&sheet, &[("greeting".into(), 1.0), ("greeting".into(), 1.0)]).map_err(|e| e.0),
        Err(1)
    );
    assert_eq!(score::monthly(&[90.0, 80.0]), Some((85.0, 85.0 * 0.7)));
    assert_eq!(score::monthly(&[]), None);
}

#[test]
fn the_qa_section_validates_its_sheet() {
    let item =
        |id: &str, points: f64| RawSheetItem { id: id.into(), zh: "项".into(), en: "item".into(), points };
    let raw = RawQaConfig { keep_days: Some(30), sheet: vec![item("a", 60.0), item("b", 40.0)] };
    let c = raw.validate().expect("valid");
    assert_eq!((c.keep_days, c.sheet.len()), (30, 2));
    let raw = RawQaConfig { keep_days: None, sheet: vec![item("a", 0.0), item("a", 10.0)] };
    let keys: Vec<String> = raw.validate().err().unwrap_or_default().into_iter().map(|e| e.0).collect();
    assert_eq!(keys, ["qa.sheet[0].points", "qa.sheet[1].id"]);
    assert_eq!(RawQaConfig::default().validate(), Ok(QaConfig::default()));
}
