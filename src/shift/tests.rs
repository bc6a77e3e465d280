use std::collections::{BTreeSet, HashMap};

use super::config::{DutyConfig, FloorPlan, RawDuty, RawFloorPlan};
use super::handover::{Window, sheet};
use super::patrol::{PatrolWatch, Verdict};
use super::roster::{RawRow, judge, parse_csv};
use super::*;
use crate::rules::erlang;

fn duty(toml_text: &str) -> (DutyConfig, Problems) {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Both {
        shift: RawDuty,
        floor_plan: RawFloorPlan,
    }
    let b: Both = toml::from_str(toml_text).expect("toml");
    let mut errs = Vec::new();
    let cfg = b.shift.validate(b.floor_plan, &mut errs);
    (cfg, errs)
}

type Problems = Vec<(String, String)>;

fn keys(p: &Problems) -> Vec<&str> {
    p.iter().map(|(k, _)| k.as_str()).collect()
}

#[test]
fn config_defaults_and_every_mistake_named() {
    let (c, errs) = duty("");
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!((c.patrol_interval_secs, c.tier_over_secs.clone()), (900, vec![0, 600, 1800]));
    assert!(c.floor_plan.is_empty());
    let (c, errs) = duty("[shift]\npatrol_interval_mins = 10\n[floor_plan]\nrows = 2\nseats = 3\n");
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(c.patrol_interval_secs, 600);
    assert_eq!(c.floor_plan.rows.len(), 2);
    assert_eq!(c.floor_plan.rows[1].seats, vec!["R2-1", "R2-2", "R2-3"]);
    let (_, errs) = duty(
        "[shift]\npatrol_interval_mins = 0\ntier_over_secs = [5, 3]\nadvice_sl_target = 1.0\n\
         [floor_plan]\nrows = 2\n",
    );
    assert_eq!(
        keys(&errs),
        vec![
            "shift.patrol_interval_mins",
            "shift.tier_over_secs",
            "shift.advice_sl_target",
            "floor_plan.rows"
        ]
    );
    let (c, errs) = duty(
        "[[floor_plan.row]]\nname = \"A\"\nseats = [\"A1\", \"A2\"]\n[[floor_plan.row]]\nseats = [\"B1\", \"A2\"]\n",
    );
    assert_eq!(keys(&errs), vec!["floor_plan.row[1].seats"], "a seat given twice");
    assert_eq!(c.floor_plan.rows[0].name, "A");
    assert!(c.floor_plan.has_seat("B1") && !c.floor_plan.has_seat("C1"));
}

#[test]
fn tiers_follow_the_time_beyond_the_threshold() {
    let c = DutyConfig::default();
    // threshold 120 s: 130 s is 10 s over (tier 1), 720 s is 600 over (tier 2).
    assert_eq!(
        [c.tier(130, 120), c.tier(719, 120), c.tier(720, 120), c.tier(1920, 120), c.tier(10, 120)],
        [1, 1, 2, 3, 1]
    );
}

fn raw(date: &str, shift: &str, team: &str, agent: &str, seat: Option<&str>) -> RawRow {
    RawRow {
        date: date.into(),
        shift: shift.into(),
        team: team.into(),
        agent: agent.into(),
        name: None,
        seat: seat.map(Into::into),
    }
}

#[test]
fn roster_rows_are_judged_whole() {
    let shifts = vec!["day".to_owned(), "night".to_owned()];
    let plan = FloorPlan {
        rows: vec![config::SeatRow { name: "R1".into(), seats: vec!["R1-1".into(), "R1-2".into()] }],
    };
    let ok = judge(
        vec![
            raw("2026-12-02", "day", "t1", "a1", Some("R1-1")),
            raw("2026-12-02", "night", "t1", "a1", Some("R1-1")),
        ],
        &shifts,
        &plan,
    )
    .expect("valid");
    assert_eq!(ok.len(), 2);
    let err = |rows| judge(rows, &shifts, &plan).err().map(|e| (e.row, e.field));
    assert_eq!(err(vec![raw("2026-13-02", "day", "t1", "a1", None)]), Some((0, "date")));
    assert_eq!(err(vec![raw("2026-12-02", "dawn", "t1", "a1", None)]), Some((0, "shift")));
    assert_eq!(err(vec![raw("2026-12-02", "day", "t1", "a1", Some("Z9"))]), Some((0, "seat")));
    assert_eq!(
        err(vec![raw("2026-12-02", "day", "t1", "a1", None), raw("2026-12-02", "day", "t2", "a1", None)]),
        Some((1, "agent"))
    );
    assert_eq!(
        err(vec![
            raw("2026-12-02", "day", "t1", "a1", Some("R1-2")),
            raw("2026-12-02", "day", "t1", "a2", Some("R1-2"))
        ]),
        Some((1, "seat"))
    );
    assert_eq!(err(vec![raw("2026-12-02", "day", "t 1", "a1", None)]), Some((0, "team")));
}

#[test]
fn csv_with_bom_quotes_and_any_column_order() {
    let text = "\u{feff}agent,team,date,shift,name,seat\r\na1,t1,2026-12-02,day,\"Wang, Wei\",R1-1\r\n\r\n\
                a2,t1,2026-12-02,day,\"say \"\"hi\"\"\",\n";
    let rows = parse_csv(text).expect("parsed");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0],
        RawRow { name: Some("Wang, Wei".into()), ..raw("2026-12-02", "day", "t1", "a1", Some("R1-1")) }
    );
    assert_eq!(rows[1].name.as_deref(), Some("say \"hi\""));
    assert_eq!(rows[1].seat, None);
    let e = parse_csv("agent,team,date\na1,t1,2026-12-02\n").expect_err("no shift column");
    assert_eq!((e.row, e.field), (0, "header"));
    assert!(parse_csv("").is_err());
}

#[test]
fn the_sheet_splits_expected_into_present_absent_and_late() {
    let shifts = vec!["day".to_owned()];
    let roster = judge(
        ["lead", "a1", "a2", "a3"].iter().map(|a| raw("2026-12-02", "day", "t1", a, None)).collect(),
        &shifts,
        &FloorPlan::default(),
    )
    .expect("valid");
    let start = 1_000_000_000;
    let signins = vec![
        ("lead".to_owned(), Some("t1".to_owned()), start - 600_000),
        ("a1".to_owned(), Some("t1".to_owned()), start + 61_000),
        ("a2".to_owned(), Some("t1".to_owned()), start + 1_000),
        ("x9".to_owned(), Some("t1".to_owned()), start),
    ];
    let reasons = HashMap::from([("a3".to_owned(), "sick".to_owned())]);
    let s = sheet(&roster, &signins, &reasons, Window { start, late_after_ms: 0 });
    assert_eq!(s.len(), 1);
    let t = &s[0];
    assert_eq!(t.expected.len(), 4, "the lead is expected too");
    assert_eq!(t.present, vec!["a1", "a2", "lead"]);
    assert_eq!(t.absent.len(), 1);
    assert_eq!((t.absent[0].agent.as_str(), t.absent[0].reason.as_deref()), ("a3", Some("sick")));
    let late: Vec<(&str, i64)> = t.late.iter().map(|l| (l.agent.as_str(), l.minutes)).collect();
    assert_eq!(late, vec![("a1", 2), ("a2", 1)], "rounded up, longest first");
    assert_eq!(t.unexpected, vec!["x9"]);
    // Five minutes' grace: neither is late.
    let s = sheet(&roster, &signins, &reasons, Window { start, late_after_ms: 300_000 });
    assert!(s[0].late.is_empty());
}

#[test]
fn a_patrol_gap_flags_that_team_only_and_a_patrol_clears_it() {
    let mut w = PatrolWatch::new([("t2".to_owned(), 0)], []);
    let active: BTreeSet<String> = ["t1".to_owned(), "t2".to_owned()].into();
    let min = 60_000;
    assert!(w.check(&active, 0, 15 * min).is_empty(), "a team just on is not overdue");
    assert!(w.patrolled("t2", 10 * min).is_none(), "not overdue: nothing to clear");
    assert!(w.check(&active, 15 * min, 15 * min).is_empty(), "exactly the interval is not longer");
    let v = w.check(&active, 15 * min + 1, 15 * min);
    assert_eq!(v, vec![Verdict::Overdue { team: "t1".into(), since: 0, last_patrol: None }]);
    assert!(w.check(&active, 16 * min, 15 * min).is_empty(), "raised once");
    let v = w.check(&active, 26 * min, 15 * min);
    assert_eq!(v, vec![Verdict::Overdue { team: "t2".into(), since: 10 * min, last_patrol: Some(10 * min) }]);
    assert_eq!(w.patrolled("t1", 27 * min), Some(Verdict::Patrolled { team: "t1".into() }));
    assert!(!w.is_overdue("t1") && w.is_overdue("t2"));
    // t2 leaves the floor: nobody to patrol, its alert clears.
    let only_t1: BTreeSet<String> = ["t1".to_owned()].into();
    assert_eq!(w.check(&only_t1, 28 * min, 15 * min), vec![Verdict::Patrolled { team: "t2".into() }]);
}

/// Erlang C by its closed formula with factorials, a different computation
/// from the module's Erlang B recursion.
fn erlang_c_closed(n: u32, a: f64) -> f64 {
    let fact = |k: u32| (1..=k).fold(1.0f64, |p, i| p * f64::from(i));
    let sum: f64 = (0..n).map(|k| a.powi(k as i32) / fact(k)).sum();
    let top = a.powi(n as i32) / fact(n) * f64::from(n) / (f64::from(n) - a);
    top / (sum + top)
}

#[test]
fn erlang_c_agrees_with_the_closed_formula_and_the_textbook() {
    // Exact rationals: 2 Erlangs on 3 agents wait with probability 4/9, on 5 with 4/67.
    assert!((erlang::wait_probability(3, 2.0) - 4.0 / 9.0).abs() < 1e-12);
    assert!((erlang::wait_probability(5, 2.0) - 4.0 / 67.0).abs() < 1e-12);
    for n in 1..40 {
        for a in [0.5, 3.7, 10.0, 25.0] {
            if f64::from(n) > a {
                let (ours, closed) = (erlang::wait_probability(n, a), erlang_c_closed(n, a));
                assert!((ours - closed).abs() < 1e-9, "n={n} a={a}: {ours} vs {closed}");
            }
        }
    }
    // The textbook case: 100 calls in 30 min, 180 s handle time (10 Erlangs),
    // 80 % within 20 s. 11 agents: P(wait) 0.6821, SL 39 %; 13: 79.6 %; 14: 88.8 %.
    let a = erlang::load(200.0, 180.0);
    assert!((a - 10.0).abs() < 1e-12);
    assert!((erlang::wait_probability(11, a) - 0.6821).abs() < 5e-5);
    assert!((erlang::service_level(13, a, 180.0, 20.0) - 0.7956).abs() < 5e-5);
    assert!((erlang::service_level(14, a, 180.0, 20.0) - 0.8884).abs() < 5e-5);
    assert_eq!(erlang::agents_needed(200.0, 180.0, 20.0, 0.8), Some(14));
    assert_eq!(erlang::agents_needed(0.0, 180.0, 20.0, 0.8), Some(0));
    assert_eq!(erlang::agents_needed(200.0, 180.0, 20.0, 1.0), None);
    assert_eq!(erlang::wait_probability(10, 10.0), 1.0, "an unstable queue always waits");
}

#[test]
fn advice_releases_what_the_target_does_not_need() {
    // 100 calls expected in the next 30 min = 200/h: 14 needed.
    let a = advice::advise(100.0, 30, 180.0, 20, 20.0, 0.8);
    assert_eq!((a.needed, a.releasable), (Some(14), 6));
    assert!((a.expected_per_hour - 200.0).abs() < 1e-9);
    let a = advice::advise(100.0, 30, 180.0, 10, 20.0, 0.8);
    assert_eq!(a.releasable, 0, "short-staffed: nobody goes");
}

#[test]
fn shifts_are_found_by_date_and_name_in_local_time() {
    let s = Shifts::new(
        chrono_tz::Asia::Shanghai,
        vec![
            ShiftConfig { name: "night".into(), start_minute: 0 },
            ShiftConfig { name: "day".into(), start_minute: 8 * 60 },
            ShiftConfig { name: "evening".into(), start_minute: 16 * 60 },
        ],
    );
    let date = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
    let day = s.occurrence(date, "day").expect("day");
    // 08:00 Shanghai is 00:00Z; it ends at 16:00 local.
    assert_eq!(
        day.start,
        chrono::DateTime::parse_from_rfc3339("2026-12-02T00:00:00Z").expect("ts").timestamp_millis()
    );
    assert_eq!(day.end - day.start, 8 * 3600 * 1000);
    assert_eq!(s.at(day.start + 1000), day);
    let night = s.at(day.start - 1000);
    assert_eq!((night.name.as_str(), night.date_str().as_str()), ("night", "2026-12-02"));
    assert!(s.occurrence(date, "dawn").is_none());
}

#[test]
fn an_overdue_alert_restored_from_an_earlier_run_is_cleared_by_the_next_patrol() {
    let mut w = PatrolWatch::new([("t1".to_owned(), 0)], ["t1".to_owned(), "t9".to_owned()]);
    assert!(w.is_overdue("t1"));
    let active: BTreeSet<String> = ["t1".to_owned()].into();
    // t9 is no longer on the floor: its restored alert clears at the first look.
    assert_eq!(w.check(&active, 60_000, 15 * 60_000), vec![Verdict::Patrolled { team: "t9".into() }]);
    assert_eq!(w.patrolled("t1", 61_000), Some(Verdict::Patrolled { team: "t1".into() }));
}

/// Erlang C by its textbook sum of A^k/k! terms — a different method from the
/// Erlang B recursion in rules::erlang, so the two can disagree if one is wrong.
fn erlang_c_needed(per_hour: f64, aht: f64, t: f64, target: f64) -> u32 {
    let a = per_hour * aht / 3600.0;
    (1u32..400)
        .find(|&n| {
            let nf = f64::from(n);
            if nf <= a {
                return false;
            }
            let mut term = 1.0; // A^k / k!
            let mut below = 0.0;
            for k in 0..n {
                below += term;
                term *= a / f64::from(k + 1);
            }
            let top = term * nf / (nf - a);
            let pw = top / (below + top);
            1.0 - pw * (-(nf - a) * t / aht).exp() >= target
        })
        .expect("a staffing")
}

#[test]
fn queue_advice_uses_each_queues_own_handle_time_and_sums_the_needs() {
    let demands = [
        // 120 calls in 30 min on a slow queue (6 min calls), 80 % in 20 s.
        advice::QueueDemand { expected_calls: 120.0, aht_secs: Some(360.0), sl_secs: 20.0, sl_target: 0.8 },
        // 60 quick calls (2 min), 90 % in 10 s.
        advice::QueueDemand { expected_calls: 60.0, aht_secs: Some(120.0), sl_secs: 10.0, sl_target: 0.9 },
        // A queue that answered nothing yet takes the floor's 200 s.
        advice::QueueDemand { expected_calls: 30.0, aht_secs: None, sl_secs: 30.0, sl_target: 0.8 },
    ];
    let f = advice::advise_queues(&demands, 30, 200.0, 60);
    let want = [
        erlang_c_needed(240.0, 360.0, 20.0, 0.8),
        erlang_c_needed(120.0, 120.0, 10.0, 0.9),
        erlang_c_needed(60.0, 200.0, 30.0, 0.8),
    ];
    let got: Vec<Option<u32>> = f.queues.iter().map(|a| a.needed).collect();
    assert_eq!(got, want.iter().map(|n| Some(*n)).collect::<Vec<_>>());
    assert_eq!(f.queues[0].aht_secs, 360.0);
    assert_eq!(f.queues[2].aht_secs, 200.0, "no handle time yet: the floor's");
    let sum: u32 = want.iter().sum();
    assert_eq!(f.needed, Some(sum));
    assert_eq!(f.releasable, 60 - sum);
    // The floor's single AHT would size the slow queue differently.
    assert_ne!(want[0], erlang_c_needed(240.0, 200.0, 20.0, 0.8));
    // Fewer on the floor than needed: nobody is released.
    assert_eq!(advice::advise_queues(&demands, 30, 200.0, 3).releasable, 0);
}

#[test]
fn queue_advice_without_an_answer_for_one_queue_has_no_floor_need() {
    let demands = [
        advice::QueueDemand { expected_calls: 50.0, aht_secs: Some(180.0), sl_secs: 20.0, sl_target: 0.8 },
        // A target of 100 % has no Erlang C answer.
        advice::QueueDemand { expected_calls: 50.0, aht_secs: Some(180.0), sl_secs: 20.0, sl_target: 1.0 },
    ];
    let f = advice::advise_queues(&demands, 30, 180.0, 40);
    assert_eq!(f.queues[0].needed, Some(erlang_c_needed(100.0, 180.0, 20.0, 0.8)));
    assert_eq!(f.needed, None);
    assert_eq!(f.releasable, 0, "an unknown need releases nobody");
}
