use super::*;

fn team(names: &[&str]) -> Vec<Member> {
    names.iter().enumerate().map(|(i, n)| Member { agent: format!("A{i}"), name: (*n).to_owned() }).collect()
}

fn names(order: &[Member]) -> Vec<&str> {
    order.iter().map(|m| m.name.as_str()).collect()
}

const MIXED: [&str; 9] = ["Zoe", "王芳", "bob", "陈明", "曾强", "李明", "Alice Smith", "程刚", "黎明"];

#[test]
fn chinese_and_other_names_are_in_one_pinyin_order() {
    let base = base_order(team(&MIXED));
    // alice < bob < chen ming < cheng gang (syllable by syllable, not letter by
    // letter) < li ming (黎 li2 before 李 li3) < wang < zeng (曾 as a surname,
    // not ceng) < zoe.
    assert_eq!(names(&base), ["Alice Smith", "bob", "陈明", "程刚", "黎明", "李明", "王芳", "曾强", "Zoe"]);
}

#[test]
fn the_order_is_total_and_independent_of_input_order() {
    let mut shuffled = team(&MIXED);
    shuffled.reverse();
    let by_agent = |v: Vec<Member>| v.into_iter().map(|m| (m.name, m.agent)).collect::<Vec<_>>();
    let a = by_agent(base_order(team(&MIXED)));
    let mut b = by_agent(base_order(shuffled));
    // Same agents under the same names, in the same order.
    b.sort_by_key(|x| a.iter().position(|y| y == x));
    assert_eq!(a, b);
    // Two agents with one name keep a fixed order: by agent id.
    let twins = vec![
        Member { agent: "B2".into(), name: "张伟".into() },
        Member { agent: "B1".into(), name: "张伟".into() },
    ];
    let agents: Vec<String> = base_order(twins).into_iter().map(|m| m.agent).collect();
    assert_eq!(agents, ["B1", "B2"]);
}

#[test]
fn keys_read_han_as_syllables_and_other_text_as_words() {
    assert_eq!(name_key("吕布").tokens, ["lv", "bu"]);
    assert_eq!(name_key("Li, Na 2").tokens, ["li", "na", "2"]);
    assert_eq!(name_key("王Amy").tokens, ["wang", "amy"]);
    assert_eq!(name_key("曾曾").tokens, ["zeng", "ceng"], "a surname reading only for the first character");
}

fn month(year: i32, month: u32) -> Month {
    Month { year, month }
}

#[test]
fn each_month_rotates_left_by_one() {
    let base = base_order(team(&["Amy", "Ben", "陈明"]));
    assert_eq!(month(2000, 1).index(), 0);
    assert_eq!(names(&order_for(&base, month(2000, 1))), ["Amy", "Ben", "陈明"]);
    assert_eq!(names(&order_for(&base, month(2000, 2))), ["Ben", "陈明", "Amy"]);
    // 2026-12 is month 323, 323 mod 3 = 2.
    assert_eq!(month(2026, 12).index(), 323);
    assert_eq!(names(&order_for(&base, month(2026, 12))), ["陈明", "Amy", "Ben"]);
    // Across the year's end.
    assert_eq!(names(&order_for(&base, month(2027, 1))), ["Amy", "Ben", "陈明"]);
    // Before the epoch the count runs on backwards.
    assert_eq!(month(1999, 12).index(), -1);
    assert_eq!(names(&order_for(&base, month(1999, 12))), ["陈明", "Amy", "Ben"]);
}

#[test]
fn this_months_first_is_next_months_last_and_the_order_wraps() {
    let base = base_order(team(&MIXED));
    let n = base.len() as i64;
    let mut m = month(2025, 6);
    for _ in 0..30 {
        let this = order_for(&base, m);
        let next = order_for(&base, m.next());
        assert_eq!(this.first(), next.last(), "{m} -> {}", m.next());
        assert_eq!(this.len(), base.len());
        m = m.next();
    }
    // After n months the order is the same again.
    let mut later = month(2026, 3);
    for _ in 0..n {
        later = later.next();
    }
    assert_eq!(later.index() - month(2026, 3).index(), n);
    assert_eq!(order_for(&base, later), order_for(&base, month(2026, 3)));
    assert!(order_for(&[], month(2026, 3)).is_empty());
}

fn session(agent: &str, outcome: Outcome, at: i64) -> Session {
    let reason = (outcome == Outcome::Skipped).then(|| format!("leave {at}"));
    Session { agent: agent.into(), outcome, reason, at, by: "qa".into() }
}

#[test]
fn next_is_the_first_pending_then_the_first_skipped() {
    let order = team(&["Amy", "Ben", "Cat", "Dan"]);
    let s = standing(order.clone(), &[]);
    assert_eq!(s.next.as_deref(), Some("A0"));
    assert!(s.order.iter().all(|(_, st)| *st == Status::Pending));

    let s = standing(
        order.clone(),
        &[
            session("A0", Outcome::Done, 1),
            session("A1", Outcome::Skipped, 2),
            session("X9", Outcome::Done, 3),
        ],
    );
    assert_eq!(s.next.as_deref(), Some("A2"));
    assert_eq!(s.order[0].1, Status::Done { at: 1, by: "qa".into() });
    assert_eq!(s.order[1].1, Status::Skipped { reason: "leave 2".into(), at: 2, by: "qa".into() });
    assert_eq!(s.order.len(), 4, "a session of someone not in the team is left out");

    // Everyone seen: the skipped one is caught up; a later skip's reason counts.
    let all = [
        session("A0", Outcome::Done, 1),
        session("A1", Outcome::Skipped, 2),
        session("A2", Outcome::Done, 3),
        session("A3", Outcome::Skipped, 4),
        session("A3", Outcome::Skipped, 5),
    ];
    let s = standing(order.clone(), &all);
    assert_eq!(s.next.as_deref(), Some("A1"));
    assert!(matches!(&s.order[3].1, Status::Skipped { reason, .. } if reason == "leave 5"));

    // A skipped agent monitored later is done, and stays done.
    let mut more = all.to_vec();
    more.push(session("A1", Outcome::Done, 6));
    more.push(session("A3", Outcome::Done, 7));
    more.push(session("A3", Outcome::Skipped, 8));
    let s = standing(order, &more);
    assert_eq!(s.next, None);
    assert_eq!(s.order[3].1, Status::Done { at: 7, by: "qa".into() });
}

#[test]
fn months_parse_strictly() {
    assert_eq!(Month::parse("2026-12"), Some(month(2026, 12)));
    for bad in ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", "2026-1a", ""] {
        assert_eq!(Month::parse(bad), None, "{bad}");
    }
    assert_eq!(month(2026, 12).next(), month(2027, 1));
    assert_eq!(month(2026, 3).to_string(), "2026-03");
    let tz = chrono_tz::Asia::Shanghai;
    let (from, to) = month(2026, 12).range(tz).unwrap_or_default();
    assert_eq!(to - from, 31 * 86_400_000);
    assert_eq!(Month::of(from, tz), Some(month(2026, 12)));
    assert_eq!(Month::of(from - 1, tz), Some(month(2026, 11)));
}
