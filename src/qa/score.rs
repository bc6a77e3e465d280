//! Scoring: the configured score sheet, grade bands and the monthly score.

use super::config::SheetItem;

/// The floor's grade bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    /// ≥ 90
    Excellent,
    /// 85 to under 90
    Good,
    /// 75 to under 85
    NeedsImprovement,
    /// under 75
    Fail,
}

impl Grade {
    pub fn of(score: f64) -> Grade {
        if score >= 90.0 {
            Grade::Excellent
        } else if score >= 85.0 {
            Grade::Good
        } else if score >= 75.0 {
            Grade::NeedsImprovement
        } else {
            Grade::Fail
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Excellent => "excellent",
            Grade::Good => "good",
            Grade::NeedsImprovement => "needs_improvement",
            Grade::Fail => "fail",
        }
    }

    pub fn name(self, zh: bool) -> &'static str {
        match (self, zh) {
            (Grade::Excellent, true) => "优秀",
            (Grade::Good, true) => "良好",
            (Grade::NeedsImprovement, true) => "待改进",
            (Grade::Fail, true) => "不合格",
            (Grade::Excellent, false) => "excellent",
            (Grade::Good, false) => "good",
            (Grade::NeedsImprovement, false) => "needs improvement",
            (Grade::Fail, false) => "fail",
        }
    }
}

/// The score a review's deductions leave: 100 less the points deducted. Each
/// item must be on the sheet, once, and deduct no more than it is worth:
/// otherwise (index of the deduction, message).
pub fn score(sheet: &[SheetItem], deductions: &[(String, f64)]) -> Result<f64, (usize, String)> {
    let mut seen = Vec::new();
    let mut total = 0.0;
    for (i, (item, points)) in deductions.iter().enumerate() {
        let Some(it) = sheet.iter().find(|s| &s.id == item) else {
            return Err((i, format!("{item} is not an item of the score sheet")));
        };
        if seen.contains(&item) {
            return Err((i, format!("{item} is deducted twice")));
        }
        seen.push(item);
        if !(*points > 0.0 && *points <= it.points) {
            return Err((i, format!("{item} deducts more than 0 and at most {}", it.points)));
        }
        total += points;
    }
    Ok((100.0 - total).max(0.0))
}

/// Recording reviews make this share of the monthly quality score.
pub const REVIEW_WEIGHT: f64 = 0.7;

/// The month's review score: the mean of its reviews (`None` without any), and
/// its part of the monthly quality score ([`REVIEW_WEIGHT`] of it).
pub fn monthly(scores: &[f64]) -> Option<(f64, f64)> {
    if scores.is_empty() {
        return None;
    }
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    Some((mean, mean * REVIEW_WEIGHT))
}
