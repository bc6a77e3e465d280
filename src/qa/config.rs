//! `[qa]`: how long the call log is kept, and the score sheet.
//!
//! ```toml
//! [qa]
//! keep_days = 180
//! [[qa.sheet]]
//! id = "greeting"
//! zh = "开场白"
//! en = "Greeting"
//! points = 10
//! ```

use serde::Deserialize;

/// One item of the score sheet: what a reviewer may deduct, at most `points`.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetItem {
    pub id: String,
    pub zh: String,
    pub en: String,
    pub points: f64,
}

/// Validated `[qa]`.
#[derive(Debug, Clone, PartialEq)]
pub struct QaConfig {
    /// Days the call log keeps a call (by offer time) and the agent state log
    /// an interval (by its end); 0 keeps them forever.
    pub keep_days: u32,
    pub sheet: Vec<SheetItem>,
}

/// Half a year: two of the floor's half-yearly reviews can go back to a call.
pub const DEFAULT_KEEP_DAYS: u32 = 180;

/// A common call-centre sheet (items worth 100 in all), used when none is set.
fn default_sheet() -> Vec<SheetItem> {
    [
        ("greeting", "开场白与礼貌用语", "Greeting and courtesy", 10.0),
        ("verification", "身份核实", "Identity verification", 15.0),
        ("listening", "倾听与确认需求", "Listening and needs", 15.0),
        ("accuracy", "解答准确", "Accurate answer", 25.0),
        ("compliance", "合规与保密", "Compliance and privacy", 20.0),
        ("closing", "结束语与记录", "Closing and notes", 15.0),
    ]
    .into_iter()
    .map(|(id, zh, en, points)| SheetItem { id: id.into(), zh: zh.into(), en: en.into(), points })
    .collect()
}

impl Default for QaConfig {
    fn default() -> Self {
        QaConfig { keep_days: DEFAULT_KEEP_DAYS, sheet: default_sheet() }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawQaConfig {
    pub keep_days: Option<u32>,
    pub sheet: Vec<RawSheetItem>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSheetItem {
    pub id: String,
    pub zh: String,
    pub en: String,
    pub points: f64,
}

impl RawQaConfig {
    /// Every problem with its key path.
    pub fn validate(self) -> Result<QaConfig, Vec<(String, String)>> {
        let mut errs = Vec::new();
        let mut sheet = Vec::new();
        for (i, it) in self.sheet.into_iter().enumerate() {
            if it.id.trim().is_empty() {
                errs.push((format!("qa.sheet[{i}].id"), "must not be empty".into()));
            }
            if sheet.iter().any(|s: &SheetItem| s.id == it.id) {
                errs.push((format!("qa.sheet[{i}].id"), format!("{} is on the sheet twice", it.id)));
            }
            if !(it.points > 0.0 && it.points <= 100.0) {
                errs.push((format!("qa.sheet[{i}].points"), "must be above 0 and at most 100".into()));
            }
            sheet.push(SheetItem { id: it.id, zh: it.zh, en: it.en, points: it.points });
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(QaConfig {
            keep_days: self.keep_days.unwrap_or(DEFAULT_KEEP_DAYS),
            sheet: if sheet.is_empty() { default_sheet() } else { sheet },
        })
    }
}
