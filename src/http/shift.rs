//! The duty team's shift over HTTP (contract §10, issue 20):
//!
//! - `PUT  /api/roster`                 the roster (supervisor): a JSON array or `text/csv`
//!   of `{date, shift, team, agent, name?, seat?}`; replaces the rows of the dates
//!   and shifts it names. `GET /api/roster?date=&shift=` reads them back.
//! - `GET  /api/seatmap?date=&shift=`   the floor plan with each seat's agent and live state
//!   (the floor's read rule, as `/api/floor`: it shows what the wall shows, by seat)
//! - `GET  /api/handover?date=&shift=[&format=csv|html][&lang=zh-CN|en]`  the sheet
//! - `POST /api/handover/absences`      a lead's reason for an absent agent `{date, shift, team, agent, reason}`
//! - `POST /api/handover/confirm`       the lead signs the team's sheet `{date, shift, team}`
//! - `POST /api/handover/countersign`   the duty supervisor countersigns `{date, shift, team}`: archived
//! - `POST /api/patrols` `{team, note?}`, `GET /api/patrols[?team=&since=]`, `GET /api/patrols/teams`
//! - `GET  /api/overruns[?team=&agent=&status=&from=&to=&format=csv]`, `PATCH /api/overruns/{id}`
//!   `{status?: confirmed|dismissed, note?, explanation?, sign_off?}`
//! - `GET  /api/overruns/totals?period=week|month&date=YYYY-MM-DD`
//! - `GET  /api/advice[?horizon_mins=30..60]`  agents the service level needs, and who could train
//!
//! Roles (contract §9): the roster and the countersignature are the supervisor's;
//! reasons, confirmations, patrols and overrun reviews a lead makes for their own
//! teams only (403 otherwise); the sign-off of an overrun record is the supervisor's.
//! Every write is answered after its COMMIT, with its audit row in the same transaction.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::{AdminRequest, AdminWrite, Author, WriteBody};
use super::incidents::{csv_response, local, ms, store_error, text};
use super::{ApiError, AppState};
use crate::access::Can;
use crate::event::format_ts;
use crate::shift::handover::{self, TeamSheet, Window};
use crate::shift::roster::{self, RawRow};
use crate::shift::{ShiftOccurrence, advice};
use crate::store::incidents::{CallbackFilter, FaultFilter};
use crate::store::shift::{
    AbsenceReason, OverrunFilter, OverrunPatch, OverrunRecord, OverrunStatus, RosterEntry, Signoff,
    SignoffOutcome,
};
use crate::vocab::Language;

fn bad(field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, msg)
}

fn date_of(field: &str, s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::field(StatusCode::BAD_REQUEST, field, format!("{s:?} is not a date like 2026-12-02"))
    })
}

fn occurrence(st: &AppState, date: &str, shift: &str) -> Result<ShiftOccurrence, ApiError> {
    let d = date_of("date", date)?;
    st.shift.shifts.occurrence(d, shift).ok_or_else(|| {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            "shift",
            format!("{shift:?} is not a configured shift ({})", st.shift.shifts.names().join(", ")),
        )
    })
}

fn conflict(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, msg)
}

// ---------------------------------------------------------------- roster

/// One roster line as JSON sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RosterLine {
    date: String,
    shift: String,
    team: String,
    agent: String,
    name: Option<String>,
    seat: Option<String>,
}

/// The roster body: a JSON array, or CSV with a header (told apart by the first
/// character, so a spreadsheet export needs no particular content type).
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub(super) struct RosterBody(Vec<RosterLine>);

impl WriteBody for RosterBody {
    type Valid = Vec<RawRow>;
    const NEEDS: Can = Can::Roster;

    fn take_by(&mut self) -> Option<String> {
        None
    }

    fn parse(body: &[u8]) -> Result<RosterBody, ApiError> {
        let text = std::str::from_utf8(body).map_err(|_| bad("body", "not UTF-8"))?;
        let start = text.trim_start_matches('\u{feff}').trim_start();
        if start.starts_with('[') {
            let de = &mut serde_json::Deserializer::from_str(start);
            return serde_path_to_error::deserialize(de).map_err(|e| {
                let path = e.path().to_string();
                bad(if path == "." { "body" } else { path.as_str() }, e.inner().to_string())
            });
        }
        let rows = roster::parse_csv(text).map_err(|e| bad(e.field, e.to_string()))?;
        Ok(RosterBody(
            rows.into_iter()
                .map(|r| RosterLine {
                    date: r.date,
                    shift: r.shift,
                    team: r.team,
                    agent: r.agent,
                    name: r.name,
                    seat: r.seat,
                })
                .collect(),
        ))
    }

    fn validate(self, _: &Author) -> Result<Vec<RawRow>, ApiError> {
        if self.0.is_empty() {
            return Err(bad("body", "the roster has no rows"));
        }
        Ok(self
            .0
            .into_iter()
            .map(|l| RawRow {
                date: l.date,
                shift: l.shift,
                team: l.team,
                agent: l.agent,
                name: l.name,
                seat: l.seat,
            })
            .collect())
    }
}

pub(super) async fn put_roster(
    State(st): State<AppState>,
    w: AdminWrite<RosterBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body, author } = w;
    let rows = roster::judge(body, &st.shift.shifts.names(), &st.shift.cfg.floor_plan)
        .map_err(|e| bad(&format!("[{}].{}", e.row, e.field), e.message))?;
    let mut named: Vec<String> = rows.iter().map(|r| format!("{} {}", r.date, r.shift)).collect();
    named.sort();
    named.dedup();
    let entries: Vec<RosterEntry> = rows
        .into_iter()
        .map(|r| RosterEntry {
            date: r.date.format("%Y-%m-%d").to_string(),
            shift: r.shift,
            team: r.team,
            agent: r.agent,
            name: r.name,
            seat: r.seat,
        })
        .collect();
    let mut audit = author.into_audit("roster.put", Some(named.join(", ")));
    // The whole body can be a day's CSV: the trail keeps what it replaced, not every row.
    audit.detail = Some(format!("{} rows", entries.len()));
    match st.alerts.store.put_roster(entries, audit).await {
        Ok(n) => Ok(Json(json!({"rows": n, "replaced": named})).into_response()),
        Err(e) => Err(store_error(e)),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ShiftQuery {
    date: Option<String>,
    shift: Option<String>,
    format: Option<String>,
    lang: Option<String>,
}

impl ShiftQuery {
    /// The named shift, or the one in progress.
    fn occurrence(&self, st: &AppState) -> Result<ShiftOccurrence, ApiError> {
        match (&self.date, &self.shift) {
            (Some(d), Some(s)) => occurrence(st, d, s),
            (None, None) => Ok(st.shift.shifts.at(st.clock.now_ms())),
            (None, Some(_)) => {
                Err(ApiError::field(StatusCode::BAD_REQUEST, "date", "date and shift go together"))
            }
            (Some(_), None) => {
                Err(ApiError::field(StatusCode::BAD_REQUEST, "shift", "date and shift go together"))
            }
        }
    }
}

fn roster_line_json(r: &RosterEntry) -> Value {
    json!({"date": r.date, "shift": r.shift, "team": r.team, "agent": r.agent, "name": r.name, "seat": r.seat})
}

pub(super) async fn get_roster(
    State(st): State<AppState>,
    Query(q): Query<ShiftQuery>,
) -> Result<Response, ApiError> {
    let occ = q.occurrence(&st)?;
    let rows = st.alerts.store.roster(occ.date_str(), occ.name.clone()).await.map_err(store_error)?;
    Ok(Json(rows.iter().map(roster_line_json).collect::<Vec<_>>()).into_response())
}

/// The floor plan, each seat with the agent the roster puts there and that
/// agent's state now (a lead walking the floor sees who sits where, who needs them).
pub(super) async fn seatmap(
    State(st): State<AppState>,
    Query(q): Query<ShiftQuery>,
) -> Result<Response, ApiError> {
    let occ = q.occurrence(&st)?;
    let rows = st.alerts.store.roster(occ.date_str(), occ.name.clone()).await.map_err(store_error)?;
    let snap = st.snapshot.borrow().clone();
    let now = st.clock.now_ms();
    let live: HashMap<&str, &crate::floor::Agent> = snap.agents.iter().map(|a| (a.id.as_str(), a)).collect();
    let by_seat: HashMap<&str, &RosterEntry> =
        rows.iter().filter_map(|r| r.seat.as_deref().map(|s| (s, r))).collect();
    let alerting: std::collections::HashSet<String> = match st.alerts.open().await {
        Ok(open) => open.into_iter().filter_map(|a| a.agent).collect(),
        Err(_) => Default::default(),
    };
    let seat_json = |seat: &str| {
        let Some(r) = by_seat.get(seat) else { return json!({"seat": seat}) };
        let a = live.get(r.agent.as_str());
        json!({
            "seat": seat, "agent": r.agent, "name": r.name, "team": r.team,
            "state": a.and_then(|a| a.state).map(|s| s.as_str()),
            "reason": a.and_then(|a| a.reason.as_ref()).map(|r| r.to_string()),
            "secs_in_state": a.filter(|a| a.state.is_some()).map(|a| (now - a.since).max(0) / 1000),
            "alert": alerting.contains(&r.agent),
        })
    };
    let plan: Vec<Value> = st
        .shift
        .cfg
        .floor_plan
        .rows
        .iter()
        .map(|row| json!({"row": row.name, "seats": row.seats.iter().map(|s| seat_json(s)).collect::<Vec<_>>()}))
        .collect();
    let unseated: Vec<Value> = rows.iter().filter(|r| r.seat.is_none()).map(roster_line_json).collect();
    Ok(Json(json!({"date": occ.date_str(), "shift": occ.name, "rows": plan, "unseated": unseated}))
        .into_response())
}

// ---------------------------------------------------------------- handover

fn team_sheet_json(t: &TeamSheet, lead: Option<String>) -> Value {
    json!({
        "team": t.team,
        "lead": lead,
        "expected": t.expected.iter().map(|e| e.agent.clone()).collect::<Vec<_>>(),
        "roster": t.expected.iter().map(|e| json!({"agent": e.agent, "name": e.name, "seat": e.seat})).collect::<Vec<_>>(),
        "present": t.present,
        "absent": t.absent.iter().map(|a| json!({"agent": a.agent, "reason": a.reason})).collect::<Vec<_>>(),
        "late": t.late.iter().map(|l| json!({"agent": l.agent, "minutes": l.minutes, "signed_in_at": format_ts(l.signed_in_at)})).collect::<Vec<_>>(),
        "unexpected": t.unexpected,
        "counts": {"expected": t.expected.len(), "present": t.present.len(), "absent": t.absent.len(), "late": t.late.len()},
    })
}

fn with_signoff(mut v: Value, s: Option<&Signoff>) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("confirmed_by".into(), json!(s.map(|s| s.confirmed_by.clone())));
        m.insert("confirmed_at".into(), json!(s.map(|s| format_ts(s.confirmed_at))));
        m.insert("countersigned_by".into(), json!(s.and_then(|s| s.countersigned_by.clone())));
        m.insert("countersigned_at".into(), json!(s.and_then(|s| s.countersigned_at).map(format_ts)));
        m.insert("archived".into(), json!(s.is_some_and(|s| s.countersigned_by.is_some())));
    }
    v
}

/// Each team's sheet as it stands now (not yet confirmed), by team.
async fn live_sheets(st: &AppState, occ: &ShiftOccurrence) -> Result<BTreeMap<String, Value>, ApiError> {
    let store = &st.alerts.store;
    let (date, name) = (occ.date_str(), occ.name.clone());
    let rows = store.roster(date.clone(), name.clone()).await.map_err(store_error)?;
    let signins = store.signins(date.clone(), name.clone()).await.map_err(store_error)?;
    let absences = store.absences(date, name).await.map_err(store_error)?;
    let roster: Vec<roster::RosterRow> = rows
        .into_iter()
        .map(|r| roster::RosterRow {
            date: occ.date,
            shift: r.shift,
            team: r.team,
            agent: r.agent,
            name: r.name,
            seat: r.seat,
        })
        .collect();
    let signins: Vec<(String, Option<String>, i64)> =
        signins.into_iter().map(|s| (s.agent, s.team, s.at)).collect();
    let reasons: HashMap<String, String> = absences.into_iter().map(|a| (a.agent, a.reason)).collect();
    let late_after_ms = i64::from(st.shift.cfg.late_after_mins) * 60_000;
    let sheets = handover::sheet(&roster, &signins, &reasons, Window { start: occ.start, late_after_ms });
    let snap = st.snapshot.borrow().clone();
    let lead = |team: &str| {
        snap.teams.iter().find(|t| t.id.as_str() == team).and_then(|t| t.lead.as_ref()).map(|l| l.to_string())
    };
    Ok(sheets.iter().map(|t| (t.team.clone(), team_sheet_json(t, lead(&t.team)))).collect())
}

/// The whole sheet: every team (a confirmed one as it was confirmed), and what
/// the outgoing shift hands over — as the first countersignature froze it, once
/// there is one (`outgoing.frozen_by`, `frozen_at`), live before that.
async fn handover_json(st: &AppState, occ: &ShiftOccurrence) -> Result<Value, ApiError> {
    let store = &st.alerts.store;
    let mut teams = live_sheets(st, occ).await?;
    let signoffs = store.signoffs(occ.date_str(), occ.name.clone()).await.map_err(store_error)?;
    for s in &signoffs {
        let frozen = serde_json::from_str::<Value>(&s.sheet).unwrap_or_else(|_| json!({"team": s.team}));
        teams.insert(s.team.clone(), frozen);
    }
    let teams: Vec<Value> = teams
        .into_iter()
        .map(|(team, v)| with_signoff(v, signoffs.iter().find(|s| s.team == team)))
        .collect();
    let frozen = store.handover_outgoing(occ.date_str(), occ.name.clone()).await.map_err(store_error)?;
    let handed = match frozen.and_then(|(o, by, at)| Some((serde_json::from_str::<Value>(&o).ok()?, by, at)))
    {
        Some((mut v, by, at)) => {
            v["outgoing"]["frozen_by"] = json!(by);
            v["outgoing"]["frozen_at"] = json!(format_ts(at));
            v
        }
        None => outgoing_json(st).await?,
    };
    Ok(json!({
        "date": occ.date_str(), "shift": occ.name, "shifts": st.shift.shifts.names(),
        "start": format_ts(occ.start), "end": format_ts(occ.end),
        "teams": teams,
        "outgoing": handed["outgoing"],
        "figures": handed["figures"],
    }))
}

/// What the outgoing shift hands over now: `{"outgoing": {incidents, callbacks,
/// faults, alerts}, "figures": {…}}` (the shift's per-queue totals so far).
async fn outgoing_json(st: &AppState) -> Result<Value, ApiError> {
    let store = &st.alerts.store;
    let incidents = store.list_incidents(Some("open".into()), 0).await.map_err(store_error)?;
    let mut callbacks = Vec::new();
    for status in ["pending", "assigned"] {
        let f = CallbackFilter { status: Some(status.into()), ..CallbackFilter::default() };
        callbacks.extend(store.list_callbacks(f).await.map_err(store_error)?);
    }
    let faults = store
        .list_faults(FaultFilter { open_only: true, ..FaultFilter::default() })
        .await
        .map_err(store_error)?;
    let alerts = st.alerts.open().await.unwrap_or_default();
    let snap = st.snapshot.borrow().clone();
    let shift_window = snap.windows.iter().position(|w| w.label == crate::floor::config::SHIFT_WINDOW);
    let figures: Vec<Value> = snap
        .queues
        .iter()
        .map(|q| {
            let t = shift_window.and_then(|i| q.windows.get(i)).copied().unwrap_or_default();
            json!({"queue": q.id.as_str(), "offered": t.offered, "answered": t.answered, "abandoned": t.abandoned,
                   "answered_within_sl": t.answered_within_sl})
        })
        .collect();
    Ok(json!({
        "outgoing": {
            "incidents": incidents.iter().map(|d| json!({"id": d.incident.id, "kind": d.incident.kind, "title": d.incident.title, "opened_at": format_ts(d.incident.opened_at)})).collect::<Vec<_>>(),
            "callbacks": callbacks.iter().map(|c| json!({"id": c.id, "status": c.status, "agent": c.agent, "queue": c.queue, "created_at": format_ts(c.created_at)})).collect::<Vec<_>>(),
            "faults": faults.iter().map(|f| json!({"id": f.id, "component": f.component, "detail": f.detail, "detected_at": format_ts(f.detected_at)})).collect::<Vec<_>>(),
            "alerts": alerts.iter().map(|a| json!({"id": a.id, "kind": a.kind.as_str(), "state": a.state.as_str(), "team": a.team, "agent": a.agent, "queue": a.queue, "message_zh": a.message_zh, "message_en": a.message_en, "started_at": format_ts(a.started_at)})).collect::<Vec<_>>(),
        },
        "figures": {"shift": snap.shift.name, "shift_start": format_ts(snap.shift.start), "queues": figures},
    }))
}

pub(super) async fn get_handover(
    State(st): State<AppState>,
    Query(q): Query<ShiftQuery>,
) -> Result<Response, ApiError> {
    let occ = q.occurrence(&st)?;
    let lang = match q.lang.as_deref() {
        None | Some("zh-CN") | Some("zh") => Language::ZhCn,
        Some("en") => Language::En,
        Some(_) => return Err(ApiError::field(StatusCode::BAD_REQUEST, "lang", "must be zh-CN or en")),
    };
    let v = handover_json(&st, &occ).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(v).into_response()),
        Some("csv") => Ok(handover_csv(&occ, &v)),
        Some("html") => Ok(handover_html(&v, lang)),
        Some(_) => Err(ApiError::field(StatusCode::BAD_REQUEST, "format", "must be json, csv or html")),
    }
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn s(v: &Value) -> String {
    v.as_str().map(str::to_owned).unwrap_or_default()
}

/// One line per agent of the roster: team, agent, status (present / absent / late),
/// minutes late, reason, and the team's signatures.
fn handover_csv(occ: &ShiftOccurrence, v: &Value) -> Response {
    let mut lines = Vec::new();
    for t in v["teams"].as_array().into_iter().flatten() {
        let late: HashMap<String, i64> = t["late"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| (s(&l["agent"]), l["minutes"].as_i64().unwrap_or(0)))
            .collect();
        let absent: HashMap<String, String> =
            t["absent"].as_array().into_iter().flatten().map(|a| (s(&a["agent"]), s(&a["reason"]))).collect();
        let present = strs(&t["present"]);
        for e in t["roster"].as_array().into_iter().flatten() {
            let agent = s(&e["agent"]);
            let status = if late.contains_key(&agent) {
                "late"
            } else if present.contains(&agent) {
                "present"
            } else {
                "absent"
            };
            lines.push(vec![
                occ.date_str(),
                occ.name.clone(),
                s(&t["team"]),
                agent.clone(),
                s(&e["name"]),
                s(&e["seat"]),
                status.to_owned(),
                late.get(&agent).map(|m| m.to_string()).unwrap_or_default(),
                absent.get(&agent).cloned().unwrap_or_default(),
                s(&t["confirmed_by"]),
                s(&t["countersigned_by"]),
            ]);
        }
    }
    csv_response(
        &format!("handover-{}-{}.csv", occ.date_str(), occ.name),
        &[
            "date",
            "shift",
            "team",
            "agent",
            "name",
            "seat",
            "status",
            "late_minutes",
            "reason",
            "confirmed_by",
            "countersigned_by",
        ],
        lines.into_iter(),
    )
}

/// HTML text: every outside string goes through here.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The page's words in each language.
fn words(lang: Language) -> [&'static str; 16] {
    match lang {
        Language::ZhCn => [
            "交接班记录",
            "班组",
            "应到",
            "实到",
            "未到人员及原因",
            "迟到",
            "分钟",
            "班组长确认",
            "值班长复核",
            "未确认",
            "已归档",
            "上一班未结事项",
            "未关闭事件",
            "待回拨",
            "未恢复故障",
            "未解除告警",
        ],
        Language::En => [
            "Handover sheet",
            "Team",
            "Expected",
            "Present",
            "Absent and why",
            "Late",
            "min",
            "Lead's confirmation",
            "Duty supervisor's countersignature",
            "not yet",
            "archived",
            "Handed over by the outgoing shift",
            "Open incidents",
            "Open call-backs",
            "Open faults",
            "Alerts firing",
        ],
    }
}

/// The printable sheet: no script, inline print styles only (the CSP says so).
fn handover_html(v: &Value, lang: Language) -> Response {
    let w = words(lang);
    let mut h = String::new();
    let lang_attr = if lang == Language::ZhCn { "zh-CN" } else { "en" };
    h.push_str(&format!(
        "<!doctype html><html lang=\"{lang_attr}\"><head><meta charset=\"utf-8\"><title>{} {} {}</title>\
         <style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse;width:100%;margin-bottom:1em}}\
         td,th{{border:1px solid #444;padding:.3em .5em;text-align:left;vertical-align:top}}\
         @media print{{a{{display:none}}}}</style></head><body>",
        w[0],
        esc(&s(&v["date"])),
        esc(&s(&v["shift"]))
    ));
    h.push_str(&format!(
        "<h1 id=\"title\">{} · {} · {}</h1><p id=\"span\">{} – {}</p>",
        w[0],
        esc(&s(&v["date"])),
        esc(&s(&v["shift"])),
        esc(&s(&v["start"])),
        esc(&s(&v["end"]))
    ));
    h.push_str(&format!(
        "<table id=\"teams\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        w[1], w[2], w[3], w[4], w[5], w[7], w[8]
    ));
    let sign = |by: &Value, at: &Value| match by.as_str() {
        Some(b) => format!("{} {}", esc(b), esc(&s(at))),
        None => w[9].to_owned(),
    };
    for t in v["teams"].as_array().into_iter().flatten() {
        let absent: Vec<String> = t["absent"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| match a["reason"].as_str() {
                Some(r) => format!("{} ({})", esc(&s(&a["agent"])), esc(r)),
                None => esc(&s(&a["agent"])),
            })
            .collect();
        let late: Vec<String> = t["late"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| format!("{} {} {}", esc(&s(&l["agent"])), l["minutes"].as_i64().unwrap_or(0), w[6]))
            .collect();
        let archived =
            if t["archived"].as_bool() == Some(true) { format!(" ({})", w[10]) } else { String::new() };
        h.push_str(&format!(
            "<tr class=\"team\" data-team=\"{}\"><td>{}</td><td class=\"expected\">{}</td><td class=\"present\">{}</td>\
             <td class=\"absent\">{}</td><td class=\"late\">{}</td><td class=\"confirmed\">{}</td><td class=\"countersigned\">{}{}</td></tr>",
            esc(&s(&t["team"])),
            esc(&s(&t["team"])),
            strs(&t["expected"]).len(),
            strs(&t["present"]).len(),
            absent.join("<br>"),
            late.join("<br>"),
            sign(&t["confirmed_by"], &t["confirmed_at"]),
            sign(&t["countersigned_by"], &t["countersigned_at"]),
            archived
        ));
    }
    h.push_str("</tbody></table>");
    h.push_str(&format!("<h2>{}</h2>", w[11]));
    // Once countersigned, what was handed over then (not what is open now).
    if v["outgoing"]["frozen_by"].is_string() {
        h.push_str(&format!(
            "<p class=\"frozen\">{} {}</p>",
            w[10],
            sign(&v["outgoing"]["frozen_by"], &v["outgoing"]["frozen_at"])
        ));
    }
    let section = |h: &mut String, id: &str, title: &str, items: &Value, line: &dyn Fn(&Value) -> String| {
        let list: Vec<String> = items.as_array().into_iter().flatten().map(line).collect();
        h.push_str(&format!("<h3>{title} ({})</h3><ul id=\"{id}\">", list.len()));
        for l in list {
            h.push_str(&format!("<li>{l}</li>"));
        }
        h.push_str("</ul>");
    };
    let o = &v["outgoing"];
    section(&mut h, "incidents", w[12], &o["incidents"], &|i| {
        format!("{} {}", esc(&s(&i["id"])), esc(&s(&i["title"])))
    });
    section(&mut h, "callbacks", w[13], &o["callbacks"], &|c| {
        format!("#{} {}", c["id"], esc(&s(&c["status"])))
    });
    section(&mut h, "faults", w[14], &o["faults"], &|f| {
        format!("{} {}", esc(&s(&f["component"])), esc(&s(&f["detail"])))
    });
    let msg = if lang == Language::ZhCn { "message_zh" } else { "message_en" };
    section(&mut h, "alerts", w[15], &o["alerts"], &|a| esc(&s(&a[msg])));
    h.push_str("</body></html>");
    let mut r = h.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    r
}

/// `{date, shift, team}` and, for an absence, `agent` and `reason`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SheetBody {
    date: String,
    shift: String,
    team: String,
    agent: Option<String>,
    reason: Option<String>,
    by: Option<String>,
}

pub(super) struct SheetTarget {
    date: String,
    shift: String,
    team: String,
    agent: Option<String>,
    reason: Option<String>,
}

/// The lead's writes on the sheet: their own teams only.
pub(super) struct LeadSheet(SheetTarget);
/// The duty supervisor's countersignature.
pub(super) struct SupervisorSheet(SheetTarget);

fn sheet_target(b: SheetBody, author: &Author) -> Result<SheetTarget, ApiError> {
    for (f, v) in [("date", &b.date), ("shift", &b.shift), ("team", &b.team)] {
        if v.trim().is_empty() {
            return Err(bad(f, "required"));
        }
    }
    author.reach("handover sheet", Some(b.team.trim()))?;
    Ok(SheetTarget {
        date: b.date.trim().to_owned(),
        shift: b.shift.trim().to_owned(),
        team: b.team.trim().to_owned(),
        agent: b.agent.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()),
        reason: text("reason", b.reason)?,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub(super) struct LeadSheetBody(SheetBody);
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub(super) struct SupervisorSheetBody(SheetBody);

impl WriteBody for LeadSheetBody {
    type Valid = LeadSheet;
    // Kept to the lead's own teams below (`sheet_target`).
    const NEEDS: Can = Can::Handover;

    fn take_by(&mut self) -> Option<String> {
        self.0.by.take()
    }

    fn validate(self, author: &Author) -> Result<LeadSheet, ApiError> {
        sheet_target(self.0, author).map(LeadSheet)
    }
}

impl WriteBody for SupervisorSheetBody {
    type Valid = SupervisorSheet;
    const NEEDS: Can = Can::Countersign;

    fn take_by(&mut self) -> Option<String> {
        self.0.by.take()
    }

    fn validate(self, author: &Author) -> Result<SupervisorSheet, ApiError> {
        sheet_target(self.0, author).map(SupervisorSheet)
    }
}

pub(super) async fn set_absence(
    State(st): State<AppState>,
    w: AdminWrite<LeadSheetBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body: LeadSheet(t), author } = w;
    let occ = occurrence(&st, &t.date, &t.shift)?;
    let agent = t.agent.ok_or_else(|| bad("agent", "required"))?;
    let reason = t.reason.ok_or_else(|| bad("reason", "required"))?;
    let rows = st.alerts.store.roster(occ.date_str(), occ.name.clone()).await.map_err(store_error)?;
    if !rows.iter().any(|r| r.agent == agent && r.team == t.team) {
        return Err(bad(
            "agent",
            format!("{agent} is not on team {}'s roster for {} {}", t.team, t.date, t.shift),
        ));
    }
    let a = AbsenceReason {
        agent: agent.clone(),
        team: t.team.clone(),
        reason,
        entered_by: author.actor.clone(),
        entered_at: author.at,
    };
    let audit = author
        .into_audit("handover.absence", Some(format!("{} {} {} {agent}", occ.date_str(), occ.name, t.team)));
    match st
        .alerts
        .store
        .set_absence(occ.date_str(), occ.name.clone(), a, audit)
        .await
        .map_err(store_error)?
    {
        SignoffOutcome::Done => Ok(Json(json!({"agent": agent, "recorded": true})).into_response()),
        _ => Err(conflict(format!("team {}'s sheet is confirmed: it no longer changes", t.team))),
    }
}

pub(super) async fn confirm(
    State(st): State<AppState>,
    w: AdminWrite<LeadSheetBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body: LeadSheet(t), author } = w;
    let occ = occurrence(&st, &t.date, &t.shift)?;
    let sheets = live_sheets(&st, &occ).await?;
    let Some(sheet) = sheets.get(&t.team) else {
        return Err(bad("team", format!("team {} has no roster for {} {}", t.team, t.date, t.shift)));
    };
    let s = Signoff {
        team: t.team.clone(),
        sheet: sheet.to_string(),
        confirmed_by: author.actor.clone(),
        confirmed_at: author.at,
        countersigned_by: None,
        countersigned_at: None,
    };
    let frozen = with_signoff(sheet.clone(), Some(&s));
    let audit =
        author.into_audit("handover.confirm", Some(format!("{} {} {}", occ.date_str(), occ.name, t.team)));
    match st
        .alerts
        .store
        .confirm_handover(occ.date_str(), occ.name.clone(), s, audit)
        .await
        .map_err(store_error)?
    {
        SignoffOutcome::Done => Ok(Json(frozen).into_response()),
        _ => Err(conflict(format!("team {}'s sheet is confirmed already", t.team))),
    }
}

pub(super) async fn countersign(
    State(st): State<AppState>,
    w: AdminWrite<SupervisorSheetBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body: SupervisorSheet(t), author } = w;
    let occ = occurrence(&st, &t.date, &t.shift)?;
    let audit = author
        .into_audit("handover.countersign", Some(format!("{} {} {}", occ.date_str(), occ.name, t.team)));
    let outgoing = outgoing_json(&st).await?.to_string();
    match st
        .alerts
        .store
        .countersign_handover(occ.date_str(), occ.name.clone(), t.team.clone(), outgoing, audit)
        .await
    {
        Ok(SignoffOutcome::Done) => {}
        Ok(SignoffOutcome::NotConfirmed) => {
            return Err(conflict(format!("team {}'s lead has not confirmed the sheet", t.team)));
        }
        Ok(_) => return Err(conflict(format!("team {}'s sheet is archived already", t.team))),
        Err(e) => return Err(store_error(e)),
    }
    let signoffs = st.alerts.store.signoffs(occ.date_str(), occ.name.clone()).await.map_err(store_error)?;
    let s = signoffs.iter().find(|s| s.team == t.team);
    let sheet = s.and_then(|s| serde_json::from_str::<Value>(&s.sheet).ok()).unwrap_or(Value::Null);
    Ok(Json(with_signoff(sheet, s)).into_response())
}

// ---------------------------------------------------------------- patrols

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PatrolBody {
    team: String,
    note: Option<String>,
    by: Option<String>,
}

pub(super) struct Patrol {
    team: String,
    note: Option<String>,
}

impl WriteBody for PatrolBody {
    type Valid = Patrol;
    const NEEDS: Can = Can::Ack;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, author: &Author) -> Result<Patrol, ApiError> {
        let team = self.team.trim().to_owned();
        if !crate::event::valid_id(&team) {
            return Err(bad("team", "required: the team patrolled"));
        }
        author.reach("patrol", Some(&team))?;
        Ok(Patrol { team, note: text("note", self.note)? })
    }
}

fn patrol_json(p: &crate::store::shift::PatrolRecord) -> Value {
    json!({"id": p.id, "team": p.team, "by": p.actor, "at": format_ts(p.at), "note": p.note})
}

pub(super) async fn add_patrol(
    State(st): State<AppState>,
    w: AdminWrite<PatrolBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body, author } = w;
    let at = author.at;
    let audit = author.into_audit("patrol.add", None);
    let rec = st.alerts.store.add_patrol(body.team.clone(), body.note, audit).await.map_err(store_error)?;
    // Committed: now its overdue alert may clear. A stopped task is logged, the patrol stands.
    if let Err(e) = st.shift.patrolled(body.team, at).await {
        tracing::warn!(error = %e, "patrol recorded but its alert not cleared");
    }
    Ok((StatusCode::CREATED, Json(patrol_json(&rec))).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct PatrolQuery {
    team: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn list_patrols(
    State(st): State<AppState>,
    Query(q): Query<PatrolQuery>,
) -> Result<Response, ApiError> {
    let since = match q.since.as_deref().map(crate::event::parse_ts) {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => return Err(ApiError::field(StatusCode::BAD_REQUEST, "since", e.in_field("ts"))),
        None => None,
    };
    let list =
        st.alerts.store.list_patrols(q.team, since, q.limit.unwrap_or(0)).await.map_err(store_error)?;
    Ok(Json(list.iter().map(patrol_json).collect::<Vec<_>>()).into_response())
}

/// Each team's last patrol and whether it is overdue: the supervisor's oversight.
pub(super) async fn patrol_teams(State(st): State<AppState>) -> Result<Response, ApiError> {
    let teams = st
        .shift
        .patrols()
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the shift task has stopped"))?;
    let snap = st.snapshot.borrow().clone();
    let now = st.clock.now_ms();
    let out: Vec<Value> = teams
        .iter()
        .map(|t| {
            let lead = snap.teams.iter().find(|v| v.id.as_str() == t.team).and_then(|v| v.lead.as_ref());
            json!({
                "team": t.team, "lead": lead.map(|l| l.to_string()), "last_patrol": ms(t.last_patrol),
                "mins_since": t.last_patrol.map(|l| (now - l).max(0) / 60_000),
                "overdue": t.overdue, "on_floor": t.on_floor,
            })
        })
        .collect();
    Ok(Json(json!({"interval_mins": st.shift.cfg.patrol_interval_secs / 60, "teams": out})).into_response())
}

// ---------------------------------------------------------------- overruns

fn overrun_json(o: &OverrunRecord) -> Value {
    json!({
        "id": o.id, "alert": o.alert_id, "agent": o.agent, "team": o.team, "kind": o.kind.as_str(),
        "reason": o.reason, "started_at": format_ts(o.started_at), "duration_secs": o.duration_secs,
        "threshold_secs": o.threshold_secs, "tier": o.tier, "final": o.is_final, "status": o.status.as_str(),
        "note": o.note, "reviewed_by": o.reviewed_by, "reviewed_at": ms(o.reviewed_at),
        "explanation": o.explanation, "explained_by": o.explained_by, "explained_at": ms(o.explained_at),
        "signed_off_by": o.signed_off_by, "signed_off_at": ms(o.signed_off_at),
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct OverrunQuery {
    team: Option<String>,
    agent: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
    limit: Option<usize>,
}

fn ts_param(field: &str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    match v.map(crate::event::parse_ts) {
        Some(Ok(t)) => Ok(Some(t)),
        Some(Err(e)) => Err(ApiError::field(StatusCode::BAD_REQUEST, field, e.in_field("ts"))),
        None => Ok(None),
    }
}

pub(super) async fn list_overruns(
    State(st): State<AppState>,
    Query(q): Query<OverrunQuery>,
) -> Result<Response, ApiError> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(OverrunStatus::parse(s).ok_or_else(|| {
            ApiError::field(StatusCode::BAD_REQUEST, "status", "must be draft, confirmed or dismissed")
        })?),
    };
    let filter = OverrunFilter {
        team: q.team,
        agent: q.agent,
        status,
        from_ms: ts_param("from", q.from.as_deref())?,
        to_ms: ts_param("to", q.to.as_deref())?,
        limit: q.limit.unwrap_or(0),
    };
    // Every overrun alert committed so far has its draft before the list is read.
    if let Err(e) = st.shift.sync_overruns().await {
        tracing::warn!(error = %e, "overrun drafts not brought up to date");
    }
    let list = st.alerts.store.list_overruns(filter).await.map_err(store_error)?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(list.iter().map(overrun_json).collect::<Vec<_>>()).into_response()),
        Some("csv") => {
            let tz = st.timezone;
            let t = |x: Option<i64>| x.map(|x| local(x, tz)).unwrap_or_default();
            let o = |x: &Option<String>| x.clone().unwrap_or_default();
            Ok(csv_response(
                "overruns.csv",
                &[
                    "id",
                    "agent",
                    "team",
                    "kind",
                    "reason",
                    "started_at",
                    "duration_secs",
                    "threshold_secs",
                    "tier",
                    "status",
                    "note",
                    "reviewed_by",
                    "explanation",
                    "signed_off_by",
                    "signed_off_at",
                ],
                list.iter().map(|r| {
                    vec![
                        r.id.to_string(),
                        r.agent.clone(),
                        o(&r.team),
                        r.kind.as_str().into(),
                        o(&r.reason),
                        local(r.started_at, tz),
                        r.duration_secs.to_string(),
                        r.threshold_secs.to_string(),
                        r.tier.to_string(),
                        r.status.as_str().into(),
                        o(&r.note),
                        o(&r.reviewed_by),
                        o(&r.explanation),
                        o(&r.signed_off_by),
                        t(r.signed_off_at),
                    ]
                }),
            ))
        }
        Some(_) => Err(ApiError::field(StatusCode::BAD_REQUEST, "format", "must be json or csv")),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OverrunPatchBody {
    status: Option<String>,
    note: Option<String>,
    explanation: Option<String>,
    sign_off: Option<bool>,
    by: Option<String>,
}

pub(super) struct OverrunStep {
    status: Option<OverrunStatus>,
    note: Option<String>,
    explanation: Option<String>,
    sign_off: bool,
}

impl WriteBody for OverrunPatchBody {
    type Valid = OverrunStep;
    const NEEDS: Can = Can::OverrunReview;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, author: &Author) -> Result<OverrunStep, ApiError> {
        let status = match self.status.as_deref().map(str::trim) {
            None => None,
            Some("confirmed") => Some(OverrunStatus::Confirmed),
            Some("dismissed") => Some(OverrunStatus::Dismissed),
            Some(_) => return Err(bad("status", "must be confirmed or dismissed")),
        };
        let note = text("note", self.note)?;
        if note.is_some() && status.is_none() {
            return Err(bad("note", "a note goes with a status (confirmed or dismissed)"));
        }
        let sign_off = self.sign_off.unwrap_or(false);
        if sign_off && !author.who.may(Can::OverrunSignOff) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "{} has role {}: the sign-off is the duty supervisor's",
                    author.who.name,
                    author.who.role.as_str()
                ),
            ));
        }
        let explanation = text("explanation", self.explanation)?;
        if status.is_none() && explanation.is_none() && !sign_off {
            return Err(bad("body", "nothing to change: give status, explanation or sign_off"));
        }
        Ok(OverrunStep { status, note, explanation, sign_off })
    }
}

pub(super) async fn review_overrun(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: AdminRequest,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, format!("no overrun record {id}"));
    let Ok(n) = id.parse::<i64>() else { return Err(not_found()) };
    let AdminWrite { body, author } = req.judge::<OverrunPatchBody>()?;
    let current = st.alerts.store.get_overrun(n).await.map_err(store_error)?.ok_or_else(not_found)?;
    // A lead reviews their own teams' records only.
    author.reach("overrun record", current.team.as_deref())?;
    if current.signed_off_by.is_some() {
        return Err(conflict(format!("overrun record {n} is signed off: it no longer changes")));
    }
    let will_be = body.status.unwrap_or(current.status);
    if body.sign_off && will_be == OverrunStatus::Draft {
        return Err(conflict("a draft is confirmed or dismissed by the lead before it is signed off"));
    }
    let patch = OverrunPatch {
        review: body.status.map(|s| (s, body.note.clone())),
        explanation: body.explanation,
        sign_off: body.sign_off,
        actor: author.actor.clone(),
        at: author.at,
    };
    let action = match (body.status, body.sign_off) {
        (_, true) => "overrun.sign_off",
        (Some(OverrunStatus::Confirmed), _) => "overrun.confirm",
        (Some(_), _) => "overrun.dismiss",
        (None, _) => "overrun.explain",
    };
    let audit = author.into_audit(action, Some(format!("overrun:{n}")));
    match st.alerts.store.review_overrun(n, patch, audit).await.map_err(store_error)? {
        Some(rec) => Ok(Json(overrun_json(&rec)).into_response()),
        None => Err(not_found()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TotalsQuery {
    period: Option<String>,
    date: Option<String>,
}

pub(super) async fn overrun_totals(
    State(st): State<AppState>,
    Query(q): Query<TotalsQuery>,
) -> Result<Response, ApiError> {
    let tz = st.timezone;
    let today = chrono::DateTime::from_timestamp_millis(st.clock.now_ms())
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive();
    let date = match q.date.as_deref() {
        Some(d) => date_of("date", d)?,
        None => today,
    };
    let (first, next) = match q.period.as_deref().unwrap_or("week") {
        "week" => {
            let monday = date - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday()));
            (monday, monday + chrono::Duration::days(7))
        }
        "month" => {
            let first = date.with_day(1).unwrap_or(date);
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
            };
            (first, next.unwrap_or(first))
        }
        _ => return Err(ApiError::field(StatusCode::BAD_REQUEST, "period", "must be week or month")),
    };
    let at = |d: NaiveDate| {
        use chrono::TimeZone;
        d.and_hms_opt(0, 0, 0)
            .and_then(|n| tz.from_local_datetime(&n).earliest())
            .map_or(0, |t| t.timestamp_millis())
    };
    let (from, to) = (at(first), at(next));
    if let Err(e) = st.shift.sync_overruns().await {
        tracing::warn!(error = %e, "overrun drafts not brought up to date");
    }
    let agents = st.alerts.store.overrun_totals(from, to, false).await.map_err(store_error)?;
    let teams = st.alerts.store.overrun_totals(from, to, true).await.map_err(store_error)?;
    let row = |key: &str, t: &crate::store::shift::OverrunTotal| {
        json!({key: t.key, "team": t.team, "records": t.records, "confirmed": t.confirmed, "dismissed": t.dismissed,
               "draft": t.draft, "duration_secs": t.duration_secs, "confirmed_tiers": t.confirmed_tiers})
    };
    Ok(Json(json!({
        "period": q.period.as_deref().unwrap_or("week"),
        "from": first.format("%Y-%m-%d").to_string(), "to": next.format("%Y-%m-%d").to_string(),
        "agents": agents.iter().map(|t| row("agent", t)).collect::<Vec<_>>(),
        "teams": teams.iter().map(|t| row("team", t)).collect::<Vec<_>>(),
    }))
    .into_response())
}

// ---------------------------------------------------------------- advice

#[derive(Debug, Deserialize)]
pub(super) struct AdviceQuery {
    horizon_mins: Option<u32>,
}

/// Handle time assumed while the floor has answered nothing yet.
const DEFAULT_AHT_SECS: f64 = 180.0;

pub(super) async fn advice(
    State(st): State<AppState>,
    Query(q): Query<AdviceQuery>,
) -> Result<Response, ApiError> {
    let horizon = q.horizon_mins.unwrap_or(30);
    if !(30..=60).contains(&horizon) {
        return Err(ApiError::field(StatusCode::BAD_REQUEST, "horizon_mins", "must be between 30 and 60"));
    }
    let now = st.clock.now_ms();
    let snap = st.snapshot.borrow().clone();
    let profiles = st.shift.profiles();
    let aht = snap.aht_secs.filter(|a| *a > 0.0);
    let aht_secs = aht.unwrap_or(DEFAULT_AHT_SECS);
    let cfg = &st.shift.cfg;
    let to = now + i64::from(horizon) * 60_000;
    let mut demands = Vec::new();
    let mut bases = Vec::new();
    let mut floor_expected = 0.0;
    for qv in &snap.queues {
        // The learned profile for the horizon; without one yet, the last hour's pace.
        let (expected, basis) = match profiles.get(qv.id.as_str()).and_then(|d| d.expected_between(now, to)) {
            Some(e) => (e, "profile"),
            None => {
                let last_hour: u32 = qv.trend.iter().sum();
                (f64::from(last_hour) * f64::from(horizon) / 60.0, "recent")
            }
        };
        floor_expected += expected;
        bases.push(basis);
        demands.push(advice::QueueDemand {
            expected_calls: expected,
            // The floor keeps handle time per agent, not per queue, yet: every
            // queue takes the floor's until the snapshot carries its own.
            aht_secs: None,
            sl_secs: f64::from(qv.params.sl_threshold_secs),
            sl_target: qv.params.sl_target,
        });
    }
    // Agents who take calls now: logged in and not on a not-ready break.
    let logged_in: u32 = snap.agents_by_state.iter().sum();
    let on_calls = logged_in.saturating_sub(snap.agents_in(crate::event::AgentState::NotReady));
    let floor = advice::advise_queues(&demands, horizon, aht_secs, on_calls);
    let queues: Vec<Value> = snap
        .queues
        .iter()
        .zip(&floor.queues)
        .zip(demands.iter().zip(&bases))
        .map(|((qv, a), (d, basis))| {
            json!({
                "queue": qv.id.as_str(), "basis": basis, "expected_calls": d.expected_calls,
                "expected_per_hour": a.expected_per_hour, "aht_secs": a.aht_secs, "needed": a.needed,
                "sl_target": qv.params.sl_target, "sl_secs": qv.params.sl_threshold_secs,
            })
        })
        .collect();
    Ok(Json(json!({
        "at": format_ts(now), "horizon_mins": horizon, "aht_secs": aht_secs, "aht_known": aht.is_some(),
        "sl_target": cfg.advice_sl_target, "sl_secs": cfg.advice_sl_secs,
        "expected_calls": floor_expected,
        "expected_per_hour": if horizon == 0 { 0.0 } else { floor_expected * 60.0 / f64::from(horizon) },
        // The sum of the queues' needs, each sized with its own target.
        "needed": floor.needed, "needed_by": "sum_of_queues", "staffed": floor.staffed, "releasable": floor.releasable,
        "queues": queues,
    }))
    .into_response())
}
