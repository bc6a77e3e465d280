use super::*;

fn review(id: i64, agent: &str, score: f64) -> ReviewRow {
    ReviewRow {
        id,
        call: format!("c{id}"),
        rule_id: None,
        agent: agent.into(),
        reviewer: "qa".into(),
        reviewed_at: id,
        deductions: String::new(),
        score,
        note: None,
    }
}

fn appeal(review_id: i64, status: &str) -> AppealRow {
    AppealRow {
        id: review_id * 10,
        review_id,
        agent: String::new(),
        items: "[]".into(),
        reason: "r".into(),
        status: status.into(),
        filed_at: 0,
        lead: None,
        lead_at: None,
        panel: None,
        decided_at: None,
        score: None,
        note: None,
    }
}

#[test]
fn groups_count_bands_deductions_and_appeals() {
    let rows = [review(1, "A1", 95.0), review(2, "A1", 80.0), review(3, "A2", 70.0), review(4, "A3", 85.0)];
    let d = |v: &[(&str, f64)]| v.iter().map(|(i, p)| ((*i).to_owned(), *p)).collect::<Vec<_>>();
    let reviewed = [
        Reviewed { review: &rows[0], deductions: d(&[("greeting", 5.0)]) },
        Reviewed { review: &rows[1], deductions: d(&[("accuracy", 15.0), ("greeting", 5.0)]) },
        Reviewed { review: &rows[2], deductions: d(&[("accuracy", 20.0), ("closing", 10.0)]) },
        Reviewed { review: &rows[3], deductions: d(&[("closing", 15.0)]) },
    ];
    let appeals = [appeal(2, "amended"), appeal(3, "rejected"), appeal(9, "filed")];
    let team_of = |a: &str| (a != "A3").then(|| "t1".to_owned());
    let g = groups(&reviewed, &appeals, &team_of);
    let levels: Vec<(Level, &str)> = g.iter().map(|g| (g.level, g.id.as_str())).collect();
    assert_eq!(
        levels,
        [
            (Level::Floor, ""),
            (Level::Team, "t1"),
            (Level::Agent, "A1"),
            (Level::Agent, "A2"),
            (Level::Agent, "A3")
        ]
    );
    let floor = &g[0];
    assert_eq!(floor.reviews, 4);
    assert_eq!(floor.mean, Some(82.5));
    assert_eq!(floor.grades, [1, 1, 1, 1]);
    // accuracy and closing twice each (accuracy 35 points, closing 25), then greeting
    // twice with 10: most often, then most points.
    let items: Vec<(&str, u32, f64)> =
        floor.deducted.iter().map(|d| (d.item.as_str(), d.times, d.points)).collect();
    assert_eq!(items, [("accuracy", 2, 35.0), ("closing", 2, 25.0), ("greeting", 2, 10.0)]);
    assert_eq!(
        floor.appeals,
        Appeals { amended: 1, rejected: 1, ..Appeals::default() },
        "review 9 is not of the month"
    );
    let team = &g[1];
    assert_eq!((team.reviews, team.mean), (3, Some(245.0 / 3.0)));
    assert_eq!(team.grades, [1, 0, 1, 1]);
    let a1 = &g[2];
    assert_eq!((a1.reviews, a1.mean, a1.appeals.total()), (2, Some(87.5), 1));
    assert_eq!(a1.deducted[0].item, "greeting");
    // No reviews: the floor's row is there, empty.
    let empty = groups(&[], &[], &team_of);
    assert_eq!(empty.len(), 1);
    assert_eq!((empty[0].reviews, empty[0].mean), (0, None));
}

#[test]
fn the_analysis_is_due_three_days_after_the_month() {
    let tz = chrono_tz::Asia::Shanghai;
    let due = due_by(Month { year: 2026, month: 12 }, tz).unwrap_or_default();
    let want = tz.with_ymd_and_hms(2027, 1, 4, 0, 0, 0).single().map(|t| t.timestamp_millis());
    assert_eq!(Some(due), want);
    assert_eq!(Deadline::of(Some(due - 1), due, due + 10), Deadline::InTime);
    assert_eq!(Deadline::of(Some(due), due, due + 10), Deadline::Late);
    assert_eq!(Deadline::of(None, due, due - 1), Deadline::Open);
    assert_eq!(Deadline::of(None, due, due), Deadline::Overdue);
}
