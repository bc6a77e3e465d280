//! The monthly QA analysis (监听分析表): the month's reviews per agent, team and
//! the whole floor, and the approval that is due three days after the month.
//! Pure: the handler passes the month's reviews (by `reviewed_at` in the floor's
//! zone) with their deductions read, their appeals and each agent's team.
//!
//! Per group: `reviews` (count), `mean` score (scores as they stand: an amended
//! appeal's score replaces the review's), the grade bands' counts, the items
//! deducted (how many reviews deducted each and the points in all, most often
//! first, then most points, then by id), and the appeals of those reviews by
//! status (`filed` · `accepted` · `rejected` · `upheld` · `amended`).

use std::collections::BTreeMap;

use chrono::TimeZone;

use super::Month;
use super::score::Grade;
use crate::store::qa::{AppealRow, ReviewRow};

/// Which kind of group a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Floor,
    Team,
    Agent,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Floor => "floor",
            Level::Team => "team",
            Level::Agent => "agent",
        }
    }
}

/// One item of the score sheet as the group's reviews deducted it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deducted {
    pub item: String,
    /// Reviews that deducted it.
    pub times: u32,
    pub points: f64,
}

/// Appeals of the group's reviews, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appeals {
    pub filed: u32,
    pub accepted: u32,
    pub rejected: u32,
    pub upheld: u32,
    pub amended: u32,
}

impl Appeals {
    pub fn total(&self) -> u32 {
        self.filed + self.accepted + self.rejected + self.upheld + self.amended
    }

    fn count(&mut self, status: &str) {
        match status {
            "filed" => self.filed += 1,
            "accepted" => self.accepted += 1,
            "rejected" => self.rejected += 1,
            "upheld" => self.upheld += 1,
            "amended" => self.amended += 1,
            _ => {}
        }
    }
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub level: Level,
    /// Empty for the floor.
    pub id: String,
    pub reviews: u32,
    pub mean: Option<f64>,
    /// Reviews per band: excellent, good, needs improvement, fail.
    pub grades: [u32; 4],
    pub deducted: Vec<Deducted>,
    pub appeals: Appeals,
}

/// The grade bands in the order of [`Group::grades`].
pub const BANDS: [Grade; 4] = [Grade::Excellent, Grade::Good, Grade::NeedsImprovement, Grade::Fail];

fn band(g: Grade) -> usize {
    BANDS.iter().position(|b| *b == g).unwrap_or(3)
}

#[derive(Default)]
struct Acc {
    scores: Vec<f64>,
    grades: [u32; 4],
    deducted: BTreeMap<String, (u32, f64)>,
    appeals: Appeals,
}

/// A review of the month with its deductions (item, points) read.
pub struct Reviewed<'a> {
    pub review: &'a ReviewRow,
    pub deductions: Vec<(String, f64)>,
}

/// The groups: the floor first, then teams, then agents, each by id.
pub fn groups(
    reviews: &[Reviewed<'_>],
    appeals: &[AppealRow],
    team_of: &dyn Fn(&str) -> Option<String>,
) -> Vec<Group> {
    let mut acc: BTreeMap<(Level, String), Acc> = BTreeMap::new();
    acc.entry((Level::Floor, String::new())).or_default();
    for r in reviews {
        let mut keys = vec![(Level::Floor, String::new()), (Level::Agent, r.review.agent.clone())];
        if let Some(t) = team_of(&r.review.agent) {
            keys.push((Level::Team, t));
        }
        for k in keys {
            let a = acc.entry(k).or_default();
            a.scores.push(r.review.score);
            a.grades[band(Grade::of(r.review.score))] += 1;
            for (item, points) in &r.deductions {
                let d = a.deducted.entry(item.clone()).or_default();
                d.0 += 1;
                d.1 += points;
            }
            for ap in appeals.iter().filter(|ap| ap.review_id == r.review.id) {
                a.appeals.count(&ap.status);
            }
        }
    }
    acc.into_iter()
        .map(|((level, id), a)| {
            let mut deducted: Vec<Deducted> = a
                .deducted
                .into_iter()
                .map(|(item, (times, points))| Deducted { item, times, points })
                .collect();
            deducted.sort_by(|x, y| {
                y.times.cmp(&x.times).then(y.points.total_cmp(&x.points)).then_with(|| x.item.cmp(&y.item))
            });
            Group {
                level,
                id,
                reviews: a.scores.len() as u32,
                mean: (!a.scores.is_empty()).then(|| a.scores.iter().sum::<f64>() / a.scores.len() as f64),
                grades: a.grades,
                deducted,
                appeals: a.appeals,
            }
        })
        .collect()
}

/// Days after the month's end the analysis is to be approved by.
pub const APPROVE_WITHIN_DAYS: u32 = 3;

/// When the month's analysis is due: the month's end plus
/// [`APPROVE_WITHIN_DAYS`], i.e. midnight starting the 4th of the next month in
/// `tz` (an approval before that instant is in time).
pub fn due_by(month: Month, tz: chrono_tz::Tz) -> Option<i64> {
    let n = month.next();
    tz.with_ymd_and_hms(n.year, n.month, 1 + APPROVE_WITHIN_DAYS, 0, 0, 0)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// The approval's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// Approved before `due_by`.
    InTime,
    /// Approved, but at or after `due_by`.
    Late,
    /// Not approved, and `due_by` has not come.
    Open,
    /// Not approved, and `due_by` has passed.
    Overdue,
}

impl Deadline {
    pub fn of(approved_at: Option<i64>, due_by: i64, now: i64) -> Deadline {
        match approved_at {
            Some(t) if t < due_by => Deadline::InTime,
            Some(_) => Deadline::Late,
            None if now < due_by => Deadline::Open,
            None => Deadline::Overdue,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Deadline::InTime => "in_time",
            Deadline::Late => "late",
            Deadline::Open => "open",
            Deadline::Overdue => "overdue",
        }
    }
}

#[cfg(test)]
mod tests;
