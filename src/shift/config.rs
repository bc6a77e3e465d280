//! The duty team's sections of the config file: `[shift]` (patrol interval,
//! sign-in window, overrun tiers) and `[floor_plan]` (the seat layout). The
//! sections as written (`Raw*`, serde, unknown keys rejected) and their validated
//! form, [`DutyConfig`]. Problems are `(key, message)` pairs that `config` places
//! at file:line:column; a usable value comes back all the same (defaults in place
//! of bad ones), so every mistake of the file is reported at once.

use std::collections::HashSet;

use serde::Deserialize;

use crate::event::valid_id;

/// `(key, message)` problems, mapped onto file:line:key by `config`.
pub type Problems = Vec<(String, String)>;

fn problem(key: impl Into<String>, message: impl Into<String>) -> (String, String) {
    (key.into(), message.into())
}

/// Default patrol interval: the floor's rule is a walk every 10–15 minutes.
pub const PATROL_INTERVAL_MINS_DEFAULT: u32 = 15;

/// The duty team's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DutyConfig {
    /// A team on the floor not patrolled for longer than this raises
    /// `patrol_overdue`, seconds (`patrol_interval_mins` × 60; tests set seconds).
    pub patrol_interval_secs: u64,
    /// How long before a shift's start a login counts as its sign-in, minutes.
    pub signin_early_mins: u32,
    /// A sign-in more than this many minutes after the start is late.
    pub late_after_mins: u32,
    /// Seconds beyond the threshold from which tier 1, 2, 3… begin, ascending,
    /// the first 0 (the floor's practice: tier 1, 2, 3 cost 1, 3, 5 points).
    pub tier_over_secs: Vec<u32>,
    /// Service-level target of the idle-time advice (ratio) and its answer time.
    pub advice_sl_target: f64,
    pub advice_sl_secs: u32,
    /// The seat layout, row by row.
    pub floor_plan: FloorPlan,
}

impl Default for DutyConfig {
    fn default() -> DutyConfig {
        DutyConfig {
            patrol_interval_secs: u64::from(PATROL_INTERVAL_MINS_DEFAULT) * 60,
            signin_early_mins: 60,
            late_after_mins: 0,
            tier_over_secs: vec![0, 600, 1800],
            advice_sl_target: 0.8,
            advice_sl_secs: 20,
            floor_plan: FloorPlan::default(),
        }
    }
}

impl DutyConfig {
    /// The tier of an overrun that lasted `duration_secs` against `threshold_secs`.
    pub fn tier(&self, duration_secs: i64, threshold_secs: i64) -> u32 {
        let over = (duration_secs - threshold_secs).max(0);
        let n = self.tier_over_secs.iter().filter(|&&t| i64::from(t) <= over).count();
        u32::try_from(n.max(1)).unwrap_or(1)
    }
}

/// Rows of seats, front to back; each seat has an id unique on the floor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FloorPlan {
    pub rows: Vec<SeatRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatRow {
    pub name: String,
    pub seats: Vec<String>,
}

impl FloorPlan {
    pub fn has_seat(&self, seat: &str) -> bool {
        self.rows.iter().any(|r| r.seats.iter().any(|s| s == seat))
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// `[shift]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDuty {
    patrol_interval_mins: Option<u32>,
    signin_early_mins: Option<u32>,
    late_after_mins: Option<u32>,
    tier_over_secs: Option<Vec<u32>>,
    advice_sl_target: Option<f64>,
    advice_sl_secs: Option<u32>,
}

/// `[floor_plan]` as written: either `rows` × `seats` (seat ids `R{row}-{seat}`,
/// from 1) or `[[floor_plan.row]]` tables naming each seat.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFloorPlan {
    rows: Option<u32>,
    seats: Option<u32>,
    row: Vec<RawSeatRow>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSeatRow {
    name: Option<String>,
    seats: Vec<String>,
}

/// Seats a floor plan may have: bounded, as the floor's other tables are.
const MAX_SEATS: usize = 10_000;

impl RawDuty {
    pub fn validate(self, plan: RawFloorPlan, errs: &mut Problems) -> DutyConfig {
        let d = DutyConfig::default();
        let mins = self.patrol_interval_mins.unwrap_or(PATROL_INTERVAL_MINS_DEFAULT);
        let patrol_interval_secs = if (1..=24 * 60).contains(&mins) {
            u64::from(mins) * 60
        } else {
            errs.push(problem("shift.patrol_interval_mins", "must be between 1 and 1440 minutes"));
            d.patrol_interval_secs
        };
        let signin_early_mins = self.signin_early_mins.unwrap_or(d.signin_early_mins);
        if signin_early_mins > 12 * 60 {
            errs.push(problem("shift.signin_early_mins", "must be at most 720 minutes"));
        }
        let late_after_mins = self.late_after_mins.unwrap_or(d.late_after_mins);
        if late_after_mins > 12 * 60 {
            errs.push(problem("shift.late_after_mins", "must be at most 720 minutes"));
        }
        let tier_over_secs = match self.tier_over_secs {
            None => d.tier_over_secs.clone(),
            Some(t) if t.first() == Some(&0) && t.windows(2).all(|w| w[0] < w[1]) && t.len() <= 10 => t,
            Some(_) => {
                errs.push(problem(
                    "shift.tier_over_secs",
                    "must start at 0 and ascend strictly (at most 10 tiers), e.g. [0, 600, 1800]",
                ));
                d.tier_over_secs.clone()
            }
        };
        let advice_sl_target = match self.advice_sl_target {
            Some(r) if !(r > 0.0 && r < 1.0) => {
                errs.push(problem("shift.advice_sl_target", format!("{r} is not a ratio in (0, 1)")));
                d.advice_sl_target
            }
            Some(r) => r,
            None => d.advice_sl_target,
        };
        let advice_sl_secs = self.advice_sl_secs.unwrap_or(d.advice_sl_secs);
        if advice_sl_secs == 0 || advice_sl_secs > 3600 {
            errs.push(problem("shift.advice_sl_secs", "must be between 1 and 3600 seconds"));
        }
        DutyConfig {
            patrol_interval_secs,
            signin_early_mins: signin_early_mins.min(12 * 60),
            late_after_mins: late_after_mins.min(12 * 60),
            tier_over_secs,
            advice_sl_target,
            advice_sl_secs: advice_sl_secs.clamp(1, 3600),
            floor_plan: plan.validate(errs),
        }
    }
}

impl RawFloorPlan {
    fn validate(self, errs: &mut Problems) -> FloorPlan {
        let mut rows = Vec::new();
        match (self.rows, self.seats, self.row.is_empty()) {
            (None, None, _) => {}
            (Some(r), Some(s), true) => {
                if r == 0 || s == 0 || (r as usize) * (s as usize) > MAX_SEATS {
                    errs.push(problem(
                        "floor_plan.rows",
                        format!("rows × seats must be between 1 and {MAX_SEATS}"),
                    ));
                } else {
                    for i in 1..=r {
                        rows.push(SeatRow {
                            name: format!("R{i}"),
                            seats: (1..=s).map(|j| format!("R{i}-{j}")).collect(),
                        });
                    }
                }
            }
            (Some(_), Some(_), false) => {
                errs.push(problem(
                    "floor_plan.row",
                    "give either rows and seats or [[floor_plan.row]], not both",
                ));
            }
            _ => errs.push(problem("floor_plan.rows", "rows and seats go together")),
        }
        let mut seen = HashSet::new();
        let mut total = 0usize;
        for (i, r) in self.row.into_iter().enumerate() {
            if r.seats.is_empty() {
                errs.push(problem(format!("floor_plan.row[{i}].seats"), "a row needs at least one seat"));
            }
            for s in &r.seats {
                if !valid_id(s) {
                    errs.push(problem(
                        format!("floor_plan.row[{i}].seats"),
                        format!("{s:?} is not a valid id"),
                    ));
                } else if !seen.insert(s.clone()) {
                    errs.push(problem(
                        format!("floor_plan.row[{i}].seats"),
                        format!("seat {s:?} appears twice"),
                    ));
                }
            }
            total += r.seats.len();
            rows.push(SeatRow { name: r.name.unwrap_or_else(|| format!("R{}", i + 1)), seats: r.seats });
        }
        if total > MAX_SEATS {
            errs.push(problem("floor_plan.row", format!("at most {MAX_SEATS} seats")));
            rows.clear();
        }
        FloorPlan { rows }
    }
}
