//! The live-monitoring rotation over HTTP (the JSON shapes are in `http::qa`'s
//! header). A team's members for a month are the roster's (any date of the
//! month) and the floor's (agents whose team is it now), named by the roster,
//! else by the floor's login name, else by their id.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::admin::{AdminWrite, Author, WriteBody};
use super::super::incidents::store_error;
use super::super::{ApiError, AppState};
use super::unprocessable;
use crate::access::Can;
use crate::event::format_ts;
use crate::qa::Month;
use crate::qa::rotation::{self, Member, Outcome, Session, Standing, Status};
use crate::store::qa::MonitoringRow;

/// The month asked for (`YYYY-MM`), or the one holding `now` in the floor's zone.
pub(super) fn month_param(st: &AppState, m: Option<&str>, now: i64) -> Result<Month, ApiError> {
    match m {
        Some(m) => Month::parse(m)
            .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, "month", "must be YYYY-MM")),
        None => Month::of(now, st.timezone)
            .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the clock is out of range")),
    }
}

/// The team's members in `month` (see the module's header), in no order.
async fn members(st: &AppState, team: &str, month: Month) -> Result<Vec<Member>, ApiError> {
    let first = |m: Month| format!("{m}-01");
    let roster = st
        .incidents
        .store
        .roster_members(team.to_owned(), first(month), first(month.next()))
        .await
        .map_err(store_error)?;
    let snap = st.snapshot.borrow().clone();
    let mut out: Vec<Member> = Vec::new();
    for r in roster {
        let floor_name = snap.agents.iter().find(|a| a.id.as_str() == r.agent).and_then(|a| a.name.clone());
        let name = r.name.or(floor_name.map(|n| n.to_string())).unwrap_or_else(|| r.agent.clone());
        out.push(Member { agent: r.agent, name });
    }
    for a in snap.agents.iter().filter(|a| a.team.as_deref() == Some(team)) {
        if out.iter().any(|m| m.agent == a.id.as_str()) {
            continue;
        }
        let name = a.name.as_ref().map_or_else(|| a.id.to_string(), |n| n.to_string());
        out.push(Member { agent: a.id.to_string(), name });
    }
    Ok(out)
}

fn session_of(r: &MonitoringRow) -> Option<Session> {
    Some(Session {
        agent: r.agent.clone(),
        outcome: Outcome::parse(&r.outcome)?,
        reason: r.reason.clone(),
        at: r.at,
        by: r.by.clone(),
    })
}

fn session_json(r: &MonitoringRow) -> Value {
    json!({
        "id": r.id, "team": r.team, "month": r.month, "agent": r.agent, "outcome": r.outcome,
        "reason": r.reason, "at": format_ts(r.at), "by": r.by,
    })
}

/// The team's month: its order, standing and sessions.
async fn rotation_of(
    st: &AppState,
    team: &str,
    month: Month,
) -> Result<(Standing, Vec<MonitoringRow>), ApiError> {
    let base = rotation::base_order(members(st, team, month).await?);
    let order = rotation::order_for(&base, month);
    let rows =
        st.incidents.store.list_monitoring(team.to_owned(), month.to_string()).await.map_err(store_error)?;
    let sessions: Vec<Session> = rows.iter().filter_map(session_of).collect();
    Ok((rotation::standing(order, &sessions), rows))
}

fn rotation_json(team: &str, month: Month, s: &Standing, rows: &[MonitoringRow]) -> Value {
    let order: Vec<Value> = s
        .order
        .iter()
        .enumerate()
        .map(|(i, (m, status))| {
            let mut v = json!({"position": i + 1, "agent": m.agent, "name": m.name});
            match status {
                Status::Pending => v["status"] = json!("pending"),
                Status::Done { at, by } => {
                    v["status"] = json!("done");
                    v["at"] = json!(format_ts(*at));
                    v["by"] = json!(by);
                }
                Status::Skipped { reason, at, by } => {
                    v["status"] = json!("skipped");
                    v["reason"] = json!(reason);
                    v["at"] = json!(format_ts(*at));
                    v["by"] = json!(by);
                }
            }
            v
        })
        .collect();
    let pick = |want: &str| -> Vec<Value> { order.iter().filter(|v| v["status"] == want).cloned().collect() };
    json!({
        "team": team, "month": month.to_string(), "index": month.index(),
        "order": order, "next": s.next,
        "done": pick("done"), "skipped": pick("skipped"),
        "pending": pick("pending").iter().map(|v| v["agent"].clone()).collect::<Vec<_>>(),
        "sessions": rows.iter().map(session_json).collect::<Vec<_>>(),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct RotationQuery {
    team: Option<String>,
    month: Option<String>,
}

/// `GET /api/qa/rotation?team=&month=YYYY-MM`.
pub(crate) async fn get(
    State(st): State<AppState>,
    Query(q): Query<RotationQuery>,
) -> Result<Response, ApiError> {
    let team = q
        .team
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, "team", "name the team"))?;
    let month = month_param(&st, q.month.as_deref(), st.incidents.now_ms())?;
    let (s, rows) = rotation_of(&st, &team, month).await?;
    Ok(Json(rotation_json(&team, month, &s, &rows)).into_response())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionBody {
    agent: Option<String>,
    outcome: Option<String>,
    reason: Option<String>,
    by: Option<String>,
}

pub(crate) struct ValidSession {
    agent: String,
    outcome: Outcome,
    reason: Option<String>,
}

impl WriteBody for SessionBody {
    type Valid = ValidSession;
    // QA (supervisor tokens) or the team's lead: the handler checks the reach.
    const NEEDS: Can = Can::Ack;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, _: &Author) -> Result<ValidSession, ApiError> {
        let agent = self.agent.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
        let Some(agent) = agent else { return Err(unprocessable("agent", "name the agent monitored")) };
        let outcome = self
            .outcome
            .as_deref()
            .and_then(Outcome::parse)
            .ok_or_else(|| unprocessable("outcome", "must be done or skipped"))?;
        let reason = self.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if outcome == Outcome::Skipped && reason.is_none() {
            return Err(unprocessable("reason", "a skipped agent is skipped for a reason"));
        }
        if reason.as_ref().is_some_and(|r| r.len() > 1000) {
            return Err(unprocessable("reason", "at most 1000 bytes"));
        }
        Ok(ValidSession { agent, outcome, reason })
    }
}

/// `POST /api/qa/rotation/{team}/sessions`: QA or the team's lead records a
/// session of this month (the floor's zone) for an agent of the team's
/// rotation; answered after COMMIT with the session and the rotation after it.
pub(crate) async fn add_session(
    State(st): State<AppState>,
    Path(team): Path<String>,
    w: AdminWrite<SessionBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body, author } = w;
    author.reach("rotation", Some(&team))?;
    let month = month_param(&st, None, author.at)?;
    let base = members(&st, &team, month).await?;
    if !base.iter().any(|m| m.agent == body.agent) {
        return Err(unprocessable(
            "agent",
            format!("{} is not in team {team}'s rotation for {month}", body.agent),
        ));
    }
    let row = MonitoringRow {
        id: 0,
        team: team.clone(),
        month: month.to_string(),
        agent: body.agent,
        outcome: body.outcome.as_str().to_owned(),
        reason: body.reason,
        at: author.at,
        by: author.actor.clone(),
    };
    let audit = author.into_audit("qa.rotation.session", None);
    let saved = st.incidents.store.add_monitoring(row, audit).await.map_err(store_error)?;
    let (s, rows) = rotation_of(&st, &team, month).await?;
    let mut v = rotation_json(&team, month, &s, &rows);
    v["session"] = session_json(&saved);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}
