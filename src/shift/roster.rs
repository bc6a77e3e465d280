//! The roster (排班) and seat plan (坐席安排): who is expected on which team at
//! which seat, per date and shift. Pure: rows are read (CSV here; JSON at the
//! HTTP edge) and judged whole, naming the first row and field at fault.

use std::collections::HashSet;

use chrono::NaiveDate;

use super::config::FloorPlan;
use crate::event::valid_id;

/// One roster line as judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    pub date: NaiveDate,
    pub shift: String,
    pub team: String,
    pub agent: String,
    pub name: Option<String>,
    pub seat: Option<String>,
}

/// A roster line as sent, every field still text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRow {
    pub date: String,
    pub shift: String,
    pub team: String,
    pub agent: String,
    pub name: Option<String>,
    pub seat: Option<String>,
}

/// What is wrong with a roster: the row (from 0) and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row {row}: {field}: {message}")]
pub struct RosterError {
    pub row: usize,
    pub field: &'static str,
    pub message: String,
}

/// Most rows one PUT may carry (a floor of 50,000 agents for a day's three shifts).
pub const MAX_ROWS: usize = 200_000;

/// Judges every row: dates are `YYYY-MM-DD`, shifts are configured ones, ids are
/// valid, seats are on the floor plan (when there is one), and within one date
/// and shift no agent appears twice and no seat is given twice.
pub fn judge(rows: Vec<RawRow>, shifts: &[String], plan: &FloorPlan) -> Result<Vec<RosterRow>, RosterError> {
    if rows.len() > MAX_ROWS {
        return Err(RosterError {
            row: MAX_ROWS,
            field: "body",
            message: format!("at most {MAX_ROWS} rows"),
        });
    }
    let mut agents = HashSet::new();
    let mut seats = HashSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.into_iter().enumerate() {
        let err = |field, message: String| RosterError { row: i, field, message };
        let date = NaiveDate::parse_from_str(r.date.trim(), "%Y-%m-%d")
            .map_err(|_| err("date", format!("{:?} is not a date like 2026-12-02", r.date)))?;
        let shift = r.shift.trim().to_owned();
        if !shifts.contains(&shift) {
            return Err(err("shift", format!("{shift:?} is not a configured shift ({})", shifts.join(", "))));
        }
        let team = r.team.trim().to_owned();
        if !valid_id(&team) {
            return Err(err("team", format!("{team:?} is not a valid id")));
        }
        let agent = r.agent.trim().to_owned();
        if !valid_id(&agent) {
            return Err(err("agent", format!("{agent:?} is not a valid id")));
        }
        if !agents.insert((date, shift.clone(), agent.clone())) {
            return Err(err("agent", format!("{agent} is on the {date} {shift} roster twice")));
        }
        let name = r.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if name.as_ref().is_some_and(|n| n.len() > 256) {
            return Err(err("name", "at most 256 bytes".into()));
        }
        let seat = r.seat.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        if let Some(s) = &seat {
            if !plan.is_empty() && !plan.has_seat(s) {
                return Err(err("seat", format!("{s:?} is not a seat of the floor plan")));
            }
            if !valid_id(s) {
                return Err(err("seat", format!("{s:?} is not a valid id")));
            }
            if !seats.insert((date, shift.clone(), s.clone())) {
                return Err(err("seat", format!("seat {s} is given twice on the {date} {shift} roster")));
            }
        }
        out.push(RosterRow { date, shift, team, agent, name, seat });
    }
    Ok(out)
}

/// Reads a roster CSV: a header naming the columns (`date, shift, team, agent`
/// and optionally `name`, `seat`, in any order), then one row per line. Fields
/// may be double-quoted (`""` for a quote); a UTF-8 BOM (as spreadsheets write
/// it) is skipped; blank lines are ignored.
pub fn parse_csv(text: &str) -> Result<Vec<RawRow>, RosterError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = split_csv(text).into_iter().filter(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    let header =
        records.next().ok_or(RosterError { row: 0, field: "header", message: "the CSV is empty".into() })?;
    let col = |name: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let need = |name: &'static str| {
        col(name).ok_or(RosterError { row: 0, field: "header", message: format!("no column {name:?}") })
    };
    let (d, s, t, a) = (need("date")?, need("shift")?, need("team")?, need("agent")?);
    let (n, seat) = (col("name"), col("seat"));
    let mut rows = Vec::new();
    for (i, rec) in records.enumerate() {
        let get = |c: usize| rec.get(c).cloned().unwrap_or_default();
        let opt = |c: Option<usize>| c.and_then(|c| rec.get(c).cloned()).filter(|v| !v.trim().is_empty());
        if rows.len() >= MAX_ROWS {
            return Err(RosterError { row: i, field: "body", message: format!("at most {MAX_ROWS} rows") });
        }
        rows.push(RawRow {
            date: get(d),
            shift: get(s),
            team: get(t),
            agent: get(a),
            name: opt(n),
            seat: opt(seat),
        });
    }
    Ok(rows)
}

/// RFC 4180 records: commas, CRLF or LF, double quotes.
fn split_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}
