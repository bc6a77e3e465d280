//! The incident playbook over HTTP (contract §2 and the additions):
//!
//! - `GET  /api/incidents[?state=open|closed]`   incidents with their script in force
//! - `POST /api/incidents`                       open one by hand `{title, queue?, component?, script_zh?, script_en?, expected_recovery_mins?, publish?, by?}`
//! - `GET  /api/incidents/{id}`                  one, with every script version, the timeline, linked alerts
//! - `POST|PUT /api/incidents/{id}/script`       new version and/or publish `{text_zh?, text_en?, publish?, by?}`
//! - `POST /api/incidents/{id}/close`            `{summary?, by?}`
//! - `GET  /api/callbacks[?status=&incident=&since=&format=csv]`, `POST /api/callbacks` `{caller, incident?, queue?, agent?, note?, by?}`
//! - `PATCH /api/callbacks/{id}`                 `{status?, agent?, note?, attempted?, by?}`
//! - `GET  /api/faults[?open=true&since=&format=csv]`, `GET|PATCH /api/faults/{id}` `{cause?, resolution?, reported_to?, reported_at?, by?}`
//! - `GET  /api/audit`                           who wrote what (admin rule, like writes)
//! - `WS   /ws/agents[?queue=]`                  the scripts in force, on connect and on every change
//!
//! Writes follow the admin rule and are answered only after their commit, with
//! their audit row in the same transaction. Bodies are validated whole before
//! anything is written: a bad one gets a 4xx naming the field. Both are the
//! extractor's ([`AdminWrite`]); each body's rules are its [`WriteBody`] impl.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::{AdminRequest, AdminWrite, Author, WriteBody};
use super::auth::{read_actor, write_actor};
use super::{ApiError, AppState};
use crate::access::Can;
use crate::event::format_ts;
use crate::incidents::config::mask;
use crate::incidents::{IncidentsError, LiveScript, ManualOpen, ScriptEdit};
use crate::store::incidents::{
    CallbackFilter, CallbackPatch, CallbackRecord, FaultFilter, FaultPatch, FaultRecord, IncidentDetail,
    NewCallback,
};

/// Longest free text accepted (scripts, notes, summaries), characters.
const MAX_TEXT: usize = 4000;

/// Trims an optional text field; empty means absent. Too long is an error.
fn text(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > MAX_TEXT => Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
            format!("longer than {MAX_TEXT} characters"),
        )),
        other => Ok(other),
    }
}

fn incidents_error(e: IncidentsError) -> ApiError {
    match e {
        IncidentsError::NotFound(id) => ApiError::new(StatusCode::NOT_FOUND, format!("no incident {id}")),
        IncidentsError::Closed(id) => ApiError::new(StatusCode::CONFLICT, format!("incident {id} is closed")),
        IncidentsError::Invalid(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
        e @ (IncidentsError::Store(_) | IncidentsError::Stopped) => {
            tracing::error!(error = %e, "incident write failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not recorded; try again")
        }
    }
}

pub(super) fn store_error(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "store request failed");
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the database is not available; try again")
}

fn ms(ts: Option<i64>) -> Value {
    ts.map_or(Value::Null, |t| Value::String(format_ts(t)))
}

/// An incident as the list shows it: the contract's fields plus the script in
/// force in both languages.
fn incident_json(d: &IncidentDetail) -> Value {
    let i = &d.incident;
    let script = d.current_script().map(|s| {
        json!({"version": s.version, "zh": s.text_zh, "en": s.text_en, "author": s.author,
               "published_at": ms(s.published_at)})
    });
    let text = d.current_script().map(|s| s.text_zh.clone());
    json!({
        "id": i.id, "kind": i.kind, "state": i.state, "title": i.title,
        "queue": i.queue, "component": i.component,
        "opened_at": format_ts(i.opened_at), "opened_by": i.opened_by,
        "closed_at": ms(i.closed_at), "closed_by": i.closed_by, "summary": i.summary,
        "expected_recovery_mins": i.expected_recovery_mins,
        "script": text,
        "script_version": script,
        "awaiting_approval": i.state == "open" && i.published_version == 0,
        "alerts": d.alerts.iter().map(|a| a.alert_id.clone()).collect::<Vec<_>>(),
    })
}

fn incident_detail_json(d: &IncidentDetail) -> Value {
    let mut v = incident_json(d);
    v["scripts"] = d
        .scripts
        .iter()
        .map(|s| {
            json!({"version": s.version, "zh": s.text_zh, "en": s.text_en, "author": s.author,
                   "created_at": format_ts(s.created_at), "published_at": ms(s.published_at)})
        })
        .collect();
    v["timeline"] = d
        .timeline
        .iter()
        .map(|t| json!({"at": format_ts(t.ts), "what": t.what, "by": t.actor, "detail": t.detail}))
        .collect();
    v["linked_alerts"] = d
        .alerts
        .iter()
        .map(|a| json!({"id": a.alert_id, "role": a.role, "linked_at": format_ts(a.linked_at), "resolved_at": ms(a.resolved_at)}))
        .collect();
    v
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    state: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn list(
    State(st): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    if let Some(s) = q.state.as_deref()
        && !matches!(s, "open" | "closed")
    {
        return Err(ApiError::field(StatusCode::BAD_REQUEST, "state", "must be open or closed"));
    }
    match st.incidents.store.list_incidents(q.state, q.limit.unwrap_or(0)).await {
        Ok(list) => Ok(Json(list.iter().map(incident_json).collect::<Vec<_>>()).into_response()),
        Err(e) => Err(store_error(e)),
    }
}

pub(super) async fn get(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    match st.incidents.store.get_incident(id.clone()).await {
        Ok(Some(d)) => Ok(Json(incident_detail_json(&d)).into_response()),
        Ok(None) => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no incident {id}"))),
        Err(e) => Err(store_error(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OpenBody {
    title: Option<String>,
    queue: Option<String>,
    component: Option<String>,
    script_zh: Option<String>,
    script_en: Option<String>,
    expected_recovery_mins: Option<u32>,
    publish: Option<bool>,
    by: Option<String>,
}

impl WriteBody for OpenBody {
    type Valid = ManualOpen;
    const NEEDS: Can = Can::Incidents;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, author: &Author) -> Result<ManualOpen, ApiError> {
        let b = self;
        let title = text("title", b.title)?.ok_or_else(|| {
            ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "title", "an incident needs a title")
        })?;
        if b.expected_recovery_mins.is_some_and(|m| !(1..=10_080).contains(&m)) {
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "expected_recovery_mins",
                "must be 1 to 10080",
            ));
        }
        Ok(ManualOpen {
            title,
            queue: text("queue", b.queue)?,
            component: text("component", b.component)?,
            script_zh: text("script_zh", b.script_zh)?,
            script_en: text("script_en", b.script_en)?,
            expected_recovery_mins: b.expected_recovery_mins,
            publish: b.publish.unwrap_or(true),
            by: author.actor.clone(),
            detail: author.detail.clone(),
        })
    }
}

pub(super) async fn open(State(st): State<AppState>, w: AdminWrite<OpenBody>) -> Result<Response, ApiError> {
    match st.incidents.open(w.body).await {
        Ok(d) => Ok((StatusCode::CREATED, Json(incident_detail_json(&d))).into_response()),
        Err(e) => Err(incidents_error(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScriptBody {
    text_zh: Option<String>,
    text_en: Option<String>,
    publish: Option<bool>,
    by: Option<String>,
}

impl WriteBody for ScriptBody {
    type Valid = ScriptEdit;
    const NEEDS: Can = Can::Incidents;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, author: &Author) -> Result<ScriptEdit, ApiError> {
        let b = self;
        let (zh, en) = (text("text_zh", b.text_zh)?, text("text_en", b.text_en)?);
        let publish = b.publish.unwrap_or(true);
        if zh.is_none() && en.is_none() && !publish {
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "text_zh",
                "give text_zh and/or text_en, or publish",
            ));
        }
        let (by, detail) = (author.actor.clone(), author.detail.clone());
        Ok(ScriptEdit { text_zh: zh, text_en: en, publish, by, detail })
    }
}

pub(super) async fn script(
    State(st): State<AppState>,
    Path(id): Path<String>,
    w: AdminWrite<ScriptBody>,
) -> Result<Response, ApiError> {
    match st.incidents.script(id, w.body).await {
        Ok(d) => Ok(Json(incident_detail_json(&d)).into_response()),
        Err(e) => Err(incidents_error(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CloseBody {
    summary: Option<String>,
    by: Option<String>,
}

impl WriteBody for CloseBody {
    /// The summary.
    type Valid = Option<String>;
    const NEEDS: Can = Can::Incidents;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, _: &Author) -> Result<Option<String>, ApiError> {
        text("summary", self.summary)
    }
}

pub(super) async fn close(
    State(st): State<AppState>,
    Path(id): Path<String>,
    w: AdminWrite<CloseBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body: summary, author } = w;
    match st.incidents.close(id, author.actor, summary, author.detail).await {
        Ok(d) => Ok(Json(incident_detail_json(&d)).into_response()),
        Err(e) => Err(incidents_error(e)),
    }
}

/// Whether this reader may see caller numbers whole: masking off, or a reader
/// who may work call-backs (the admin token, a lead or above, or loopback when no
/// token is set): calling back needs the number.
fn sees_numbers(st: &AppState, headers: &HeaderMap, peer: SocketAddr) -> bool {
    !st.incidents.cfg.mask_callers || read_actor(st, headers, peer).may(Can::Callbacks)
}

/// The team of an agent on the floor now: what a call-back assigned to it
/// belongs to (a call-back of no agent, or of one not logged in, is of no team).
fn agent_team(st: &AppState, agent: Option<&str>) -> Option<String> {
    let agent = agent?;
    let snap = st.snapshot.borrow().clone();
    snap.agents.iter().find(|a| a.id.as_str() == agent).and_then(|a| a.team.as_ref()).map(|t| t.to_string())
}

fn callback_json(c: &CallbackRecord, whole: bool) -> Value {
    json!({
        "id": c.id,
        "caller": if whole { c.caller.clone() } else { mask(&c.caller) },
        "incident": c.incident_id, "queue": c.queue, "call": c.call_id, "origin": c.origin,
        "status": c.status, "agent": c.agent, "note": c.note,
        "attempts": c.attempts, "occurrences": c.occurrences,
        "created_at": format_ts(c.created_at), "updated_at": format_ts(c.updated_at),
        "assigned_at": ms(c.assigned_at), "finished_at": ms(c.finished_at),
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct CallbackQuery {
    status: Option<String>,
    incident: Option<String>,
    since: Option<String>,
    format: Option<String>,
    limit: Option<usize>,
}

const STATUSES: [&str; 4] = ["pending", "assigned", "done", "failed"];

fn since_ms(since: Option<&str>) -> Result<Option<i64>, ApiError> {
    match since.map(crate::event::parse_ts) {
        Some(Ok(t)) => Ok(Some(t)),
        Some(Err(e)) => Err(ApiError::field(StatusCode::BAD_REQUEST, "since", e.in_field("ts"))),
        None => Ok(None),
    }
}

fn wants_csv(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::field(StatusCode::BAD_REQUEST, "format", "must be json or csv")),
    }
}

pub(super) async fn list_callbacks(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    if let Some(s) = q.status.as_deref()
        && !STATUSES.contains(&s)
    {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "status",
            "must be pending, assigned, done or failed",
        ));
    }
    let (since_ms, csv) = (since_ms(q.since.as_deref())?, wants_csv(q.format.as_deref())?);
    let filter =
        CallbackFilter { status: q.status, incident_id: q.incident, since_ms, limit: q.limit.unwrap_or(0) };
    let list = match st.incidents.store.list_callbacks(filter).await {
        Ok(l) => l,
        Err(e) => return Err(store_error(e)),
    };
    let whole = sees_numbers(&st, &headers, peer);
    if csv {
        let tz = st.timezone;
        let t = |ts: i64| local(ts, tz);
        let topt = |ts: Option<i64>| ts.map(t).unwrap_or_default();
        let rows = list.iter().map(|c| {
            vec![
                c.id.to_string(),
                if whole { c.caller.clone() } else { mask(&c.caller) },
                c.incident_id.clone().unwrap_or_default(),
                c.queue.clone().unwrap_or_default(),
                c.origin.clone(),
                c.status.clone(),
                c.agent.clone().unwrap_or_default(),
                c.attempts.to_string(),
                c.occurrences.to_string(),
                t(c.created_at),
                topt(c.assigned_at),
                topt(c.finished_at),
                c.note.clone().unwrap_or_default(),
            ]
        });
        let header = [
            "id",
            "caller",
            "incident",
            "queue",
            "origin",
            "status",
            "agent",
            "attempts",
            "occurrences",
            "created_at",
            "assigned_at",
            "finished_at",
            "note",
        ];
        return Ok(csv_response("callbacks.csv", &header, rows));
    }
    Ok(Json(list.iter().map(|c| callback_json(c, whole)).collect::<Vec<_>>()).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CallbackBody {
    caller: Option<String>,
    incident: Option<String>,
    queue: Option<String>,
    agent: Option<String>,
    note: Option<String>,
    by: Option<String>,
}

/// A phone number as people type it: digits with an optional leading +, and
/// spaces or dashes between (dropped).
fn phone(field: &str, v: Option<String>) -> Result<String, ApiError> {
    let bad = |m: &str| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, m.to_owned());
    let raw = v.ok_or_else(|| bad("a caller number is required"))?;
    let cleaned: String = raw.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    if !(3..=20).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad("must be a phone number: 3 to 20 digits, optionally starting with +"));
    }
    Ok(cleaned)
}

impl WriteBody for CallbackBody {
    type Valid = NewCallback;
    const NEEDS: Can = Can::Callbacks;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, author: &Author) -> Result<NewCallback, ApiError> {
        let b = self;
        Ok(NewCallback {
            caller: phone("caller", b.caller)?,
            incident_id: text("incident", b.incident)?,
            queue: text("queue", b.queue)?,
            call_id: None,
            origin: "manual".into(),
            agent: text("agent", b.agent)?,
            note: text("note", b.note)?,
            at: author.at,
        })
    }
}

pub(super) async fn add_callback(
    State(st): State<AppState>,
    w: AdminWrite<CallbackBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body: entry, author } = w;
    author.reach("call-back", agent_team(&st, entry.agent.as_deref()).as_deref())?;
    if let Some(inc) = &entry.incident_id {
        match st.incidents.store.get_incident(inc.clone()).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(ApiError::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "incident",
                    format!("no incident {inc}"),
                ));
            }
            Err(e) => return Err(store_error(e)),
        }
    }
    let audit = author.into_audit("callback.add", entry.incident_id.clone());
    match st.incidents.store.log_callbacks(vec![entry], vec![audit]).await {
        Ok(mut v) => {
            match v.pop().inspect(|_| st.incidents.metrics.callbacks.with_label_values(&["manual"]).inc()) {
                Some(rec) => Ok((StatusCode::CREATED, Json(callback_json(&rec, true))).into_response()),
                None => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "nothing recorded")),
            }
        }
        Err(e) => Err(store_error(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CallbackPatchBody {
    status: Option<String>,
    agent: Option<String>,
    note: Option<String>,
    attempted: Option<bool>,
    by: Option<String>,
}

impl WriteBody for CallbackPatchBody {
    type Valid = CallbackPatch;
    const NEEDS: Can = Can::Callbacks;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, author: &Author) -> Result<CallbackPatch, ApiError> {
        let b = self;
        if let Some(s) = b.status.as_deref()
            && !STATUSES.contains(&s)
        {
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "status",
                "must be pending, assigned, done or failed",
            ));
        }
        let (agent, note) = (text("agent", b.agent)?, text("note", b.note)?);
        if b.status.as_deref() == Some("assigned") && agent.is_none() {
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "agent",
                "assigning needs the agent",
            ));
        }
        let at = author.at;
        Ok(CallbackPatch { status: b.status, agent, note, attempted: b.attempted.unwrap_or(false), at })
    }
}

/// Takes the write unjudged: an id that is no number names no call-back (404)
/// whatever the body says, and is told so before the body is judged.
pub(super) async fn update_callback(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: AdminRequest,
) -> Result<Response, ApiError> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no call-back {id}")));
    };
    let AdminWrite { body: patch, author } = req.judge::<CallbackPatchBody>()?;
    if author.who.role.team_scoped() {
        // Both the entry as it stands and the agent it is given to must be the lead's.
        let current = match st.incidents.store.get_callback(id).await {
            Ok(Some(c)) => c,
            Ok(None) => return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no call-back {id}"))),
            Err(e) => return Err(store_error(e)),
        };
        author.reach("call-back", agent_team(&st, current.agent.as_deref()).as_deref())?;
        if patch.agent.is_some() {
            author.reach("call-back", agent_team(&st, patch.agent.as_deref()).as_deref())?;
        }
    }
    let audit = author.into_audit("callback.update", Some(id.to_string()));
    match st.incidents.store.update_callback(id, patch, audit).await {
        Ok(Some(rec)) => Ok(Json(callback_json(&rec, true)).into_response()),
        Ok(None) => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no call-back {id}"))),
        Err(e) => Err(store_error(e)),
    }
}

fn fault_json(f: &FaultRecord) -> Value {
    json!({
        "id": f.id, "component": f.component, "origin": f.origin, "alert": f.alert_id,
        "incident": f.incident_id, "detail": f.detail,
        "detected_at": format_ts(f.detected_at), "reported_at": ms(f.reported_at), "reported_to": f.reported_to,
        "recovered_at": ms(f.recovered_at), "duration_secs": f.duration_secs(),
        "offered_during": f.offered_during, "abandoned_during": f.abandoned_during,
        "cause": f.cause, "resolution": f.resolution,
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct FaultQuery {
    open: Option<bool>,
    since: Option<String>,
    format: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn list_faults(
    State(st): State<AppState>,
    Query(q): Query<FaultQuery>,
) -> Result<Response, ApiError> {
    let (since_ms, csv) = (since_ms(q.since.as_deref())?, wants_csv(q.format.as_deref())?);
    let filter = FaultFilter { open_only: q.open.unwrap_or(false), since_ms, limit: q.limit.unwrap_or(0) };
    let list = match st.incidents.store.list_faults(filter).await {
        Ok(l) => l,
        Err(e) => return Err(store_error(e)),
    };
    if csv {
        let tz = st.timezone;
        let t = |ts: Option<i64>| ts.map(|x| local(x, tz)).unwrap_or_default();
        let n = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
        let rows = list.iter().map(|f| {
            vec![
                f.id.clone(),
                f.component.clone(),
                f.origin.clone(),
                f.detail.clone(),
                t(Some(f.detected_at)),
                t(f.reported_at),
                f.reported_to.clone().unwrap_or_default(),
                t(f.recovered_at),
                f.duration_secs().map(|d| d.to_string()).unwrap_or_default(),
                n(f.offered_during),
                n(f.abandoned_during),
                f.cause.clone().unwrap_or_default(),
                f.resolution.clone().unwrap_or_default(),
                f.incident_id.clone().unwrap_or_default(),
            ]
        });
        let header = [
            "id",
            "component",
            "origin",
            "detail",
            "detected_at",
            "reported_at",
            "reported_to",
            "recovered_at",
            "duration_secs",
            "offered_during",
            "abandoned_during",
            "cause",
            "resolution",
            "incident",
        ];
        return Ok(csv_response("faults.csv", &header, rows));
    }
    Ok(Json(list.iter().map(fault_json).collect::<Vec<_>>()).into_response())
}

pub(super) async fn get_fault(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match st.incidents.store.get_fault(id.clone()).await {
        Ok(Some(f)) => Ok(Json(fault_json(&f)).into_response()),
        Ok(None) => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no fault {id}"))),
        Err(e) => Err(store_error(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FaultBody {
    cause: Option<String>,
    resolution: Option<String>,
    reported_to: Option<String>,
    reported_at: Option<String>,
    by: Option<String>,
}

impl WriteBody for FaultBody {
    type Valid = FaultPatch;
    const NEEDS: Can = Can::Faults;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, author: &Author) -> Result<FaultPatch, ApiError> {
        let (b, at) = (self, author.at);
        let reported_to = text("reported_to", b.reported_to)?;
        let reported_at = match b.reported_at.as_deref().map(crate::event::parse_ts) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                return Err(ApiError::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "reported_at",
                    e.in_field("ts"),
                ));
            }
            // Naming whom it was reported to records that it was, now.
            None => reported_to.as_ref().map(|_| at),
        };
        let patch = FaultPatch {
            cause: text("cause", b.cause)?,
            resolution: text("resolution", b.resolution)?,
            reported_to,
            reported_at,
            at,
        };
        if patch.cause.is_none()
            && patch.resolution.is_none()
            && patch.reported_to.is_none()
            && patch.reported_at.is_none()
        {
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "body",
                "nothing to record: give cause, resolution or reported_to",
            ));
        }
        Ok(patch)
    }
}

pub(super) async fn annotate_fault(
    State(st): State<AppState>,
    Path(id): Path<String>,
    w: AdminWrite<FaultBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body: patch, author } = w;
    let audit = author.into_audit("fault.note", Some(id.clone()));
    match st.incidents.store.annotate_fault(id.clone(), patch, audit).await {
        Ok(Some(f)) => Ok(Json(fault_json(&f)).into_response()),
        Ok(None) => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no fault {id}"))),
        Err(e) => Err(store_error(e)),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct AuditQuery {
    limit: Option<usize>,
}

pub(super) async fn audit(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    // The trail holds what people typed (numbers included): admins only.
    let actor = write_actor(&st, &headers, peer)?;
    if !actor.may(Can::Audit) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{} has role {}: the audit trail is for admins", actor.name, actor.role.as_str()),
        ));
    }
    match st.incidents.store.list_audit(q.limit.unwrap_or(0)).await {
        Ok(rows) => Ok(Json(
            rows.iter()
                .map(|a| json!({"at": format_ts(a.at), "by": a.actor, "action": a.action, "target": a.target, "detail": a.detail}))
                .collect::<Vec<_>>(),
        )
        .into_response()),
        Err(e) => Err(store_error(e)),
    }
}

/// `2026-11-23 14:03:05` in the floor's time zone: what a spreadsheet user reads.
pub(super) fn local(ts: i64, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// RFC 4180 CSV, UTF-8 with a byte-order mark so Excel opens Chinese text right.
pub(super) fn csv_response(name: &str, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Response {
    let mut out = String::from("\u{feff}");
    let line = |out: &mut String, fields: &mut dyn Iterator<Item = &str>| {
        let mut first = true;
        for f in fields {
            if !first {
                out.push(',');
            }
            first = false;
            // A leading =, +, - or @ would run as a formula in a spreadsheet.
            let guarded =
                if f.starts_with(['=', '+', '-', '@']) && !f[1..].chars().all(|c| c.is_ascii_digit()) {
                    format!("'{f}")
                } else {
                    f.to_owned()
                };
            if guarded.contains([',', '"', '\r', '\n']) {
                out.push('"');
                out.push_str(&guarded.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(&guarded);
            }
        }
        out.push_str("\r\n");
    };
    line(&mut out, &mut header.iter().copied());
    for row in rows {
        line(&mut out, &mut row.iter().map(String::as_str));
    }
    let mut r = out.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

#[derive(Debug, Deserialize)]
pub(super) struct AgentsQuery {
    queue: Option<String>,
    team: Option<String>,
}

/// `WS /ws/agents`: for agent desktops and softphones. Every frame is
/// `{"type":"scripts","scripts":[…]}`, the scripts in force for the subscriber
/// (floor-wide ones, and those of `?queue=` — all of them without it), on
/// connect and on every change. A slow desktop skips to the latest.
pub(super) async fn agents_ws(
    State(st): State<AppState>,
    Query(q): Query<AgentsQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| agents_session(socket, st, q))
}

fn scripts_frame(live: &[LiveScript], q: &AgentsQuery) -> String {
    let scripts: Vec<Value> = live
        .iter()
        .filter(|s| q.queue.is_none() || s.queue.is_none() || s.queue == q.queue)
        .map(|s| {
            json!({"incident": s.incident, "kind": s.kind, "title": s.title, "queue": s.queue,
                   "component": s.component, "version": s.version, "zh": s.text_zh, "en": s.text_en,
                   "published_at": format_ts(s.published_at)})
        })
        .collect();
    json!({"type": "scripts", "team": q.team, "queue": q.queue, "scripts": scripts}).to_string()
}

async fn agents_session(mut socket: WebSocket, st: AppState, q: AgentsQuery) {
    let mut scripts = st.incidents.scripts();
    // Marked seen so the first `changed()` waits for a real change.
    let first = scripts_frame(&scripts.borrow_and_update(), &q);
    if socket.send(Message::Text(first.into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            changed = scripts.changed() => {
                if changed.is_err() {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                let frame = scripts_frame(&scripts.borrow_and_update(), &q);
                if socket.send(Message::Text(frame.into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = st.cancel.cancelled() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        }
    }
}
