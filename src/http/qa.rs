//! Quality assurance over HTTP (contract §10): the call log, sampling rules,
//! reviews and appeals.
//!
//! - `GET  /api/calls[?agent=&queue=&from=&to=&limit=&format=csv]`: finished calls;
//!   the caller is masked for readers who may not work call-backs.
//! - `POST /api/qa/rules` (supervisor): registers a rule before its period;
//!   `GET /api/qa/rules`, `GET /api/qa/rules/{id}` (its canonical JSON and
//!   SHA-256), `GET /api/qa/rules/{id}/sample[?format=csv]`,
//!   `GET /api/qa/rules/{id}/quotas` (this week: who is under their minimum).
//! - `POST /api/qa/reviews` (supervisor: QA works with supervisor tokens)
//!   `{call, rule?, deductions: [{item, points}], note?}`; `GET /api/qa/reviews[?agent=&month=YYYY-MM]`.
//! - `POST /api/qa/reviews/{id}/appeal` `{items, reason}`: the agent (a token
//!   whose name is the agent id) or a supervisor; `POST /api/qa/appeals/{id}/accept`
//!   and `/reject` (the agent's lead, or a supervisor); `POST /api/qa/appeals/{id}/decide`
//!   `{decision: upheld|amended, score?, qa, note?}` (a supervisor, naming the QA
//!   member; the lead is the one who accepted): the three-party review.
//!   `GET /api/qa/appeals[?agent=]`.
//! - `GET /api/qa/sheet`: the `[qa]` score sheet (items, their points, both
//!   languages) and the grade bands, for the page that scores a review.
//!
//! - `GET /api/qa/rotation?team=&month=YYYY-MM` (anyone with a token; the month
//!   defaults to this one in the floor's zone): the team's live-monitoring order
//!   for the month (`qa::rotation` defines it):
//!   `{team, month, index, order: [Slot], next: agent|null, done: [Slot],
//!   skipped: [Slot], pending: [agent], sessions: [Session]}` where
//!   `Slot = {position (1-based), agent, name, status: pending|done|skipped,
//!   at?, by?, reason? (skipped)}` and
//!   `Session = {id, team, month, agent, outcome: done|skipped, reason, at, by}`.
//!   The team is the roster's for any day of the month plus the floor's agents
//!   on the team now.
//! - `POST /api/qa/rotation/{team}/sessions` `{agent, outcome: done|skipped,
//!   reason (a skip's, required)}`: QA (supervisor tokens) or the team's lead;
//!   the agent must be in the team's rotation this month. 201 with the
//!   rotation as above plus `session`.
//! - `GET /api/qa/analysis?month=YYYY-MM[&format=json|html&lang=zh-CN|en]` (a
//!   lead or above): the monthly QA analysis (监听分析表), `qa::analysis`:
//!   `{month, from, to, due_by, approval: {month, by, at, note}|null,
//!   deadline: open|overdue|in_time|late, in_time: bool|null, groups: [Group]}`,
//!   `Group = {level: floor|team|agent, id ("" for the floor), reviews, mean,
//!   grade, grades: {excellent, good, needs_improvement, fail},
//!   deducted: [{item, times, points}] (most often first),
//!   appeals: {total, filed, accepted, rejected, upheld, amended}}`.
//! - `POST /api/qa/analysis/{month}/approve` `{note?}` (a supervisor: the
//!   director's approval): once per month, after its last day (409 before, and
//!   when approved already); 201 with the analysis as above. It is due by the
//!   month's end plus 3 days (`due_by`, midnight in the floor's zone).
//! - `GET /api/reports?period=day|week|month&date=YYYY-MM-DD[&format=json|csv|html&lang=zh-CN|en]`:
//!   KPIs per agent, team and queue (`qa::report` defines them); `{period, date, from, to,
//!   rows: [{by, id, offered, handled, abandoned, answer_rate, aht_secs, asa_secs,
//!   service_level, qa_score, qa_grade, logged_in_secs, ready_secs, ringing_secs,
//!   talk_secs, hold_secs, acw_secs, not_ready_secs, not_ready_by_reason: {reason: secs},
//!   acw_share, occupancy, overruns: {acw_overrun, busy_overrun}}]}` (the agent-time
//!   figures and `overruns` are null on queue rows); CSV has those columns with a
//!   header row (`not_ready_by_reason` as `reason=secs;…`, `(none)` for no reason;
//!   `acw_overruns`, `busy_overruns`); HTML is a self-contained printable page.
//!
//! Who reads what: everyone with a token reads rules and samples (the point of
//! a published rule); a viewer token reads only its own reviews and appeals.
//! Every write is audited in its own transaction, and answered after its COMMIT.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::admin::{AdminWrite, Author, WriteBody};
use super::auth::{read_actor, write_actor};
use super::incidents::{csv_response, local, store_error};
use super::{ApiError, AppState};
use crate::access::{Actor, Can, Role};
use crate::event::{format_ts, parse_ts};
use crate::incidents::config::mask;
use crate::qa::report;
use crate::qa::sample::{self, Sample};
use crate::qa::score::{self, Grade};
use crate::qa::{Rule, Strata};
use crate::store::incidents::Audit;
use crate::store::qa::{AppealRow, AppealStep, CallFilter, CallRow, Registered, ReviewRow, RuleRow, Stepped};
use crate::store::shift::OverrunFilter;

pub(super) mod analysis;
pub(super) mod rotation;

fn unprocessable(field: &str, msg: impl Into<String>) -> ApiError {
    ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, msg)
}

fn time_param(field: &str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    match v.map(parse_ts) {
        Some(Ok(t)) => Ok(Some(t)),
        Some(Err(e)) => Err(ApiError::field(StatusCode::BAD_REQUEST, field, e.in_field("ts"))),
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

/// Whether this reader may see caller numbers whole (the call-backs' rule).
fn sees_numbers(st: &AppState, actor: &Actor) -> bool {
    !st.incidents.cfg.mask_callers || actor.may(Can::Callbacks)
}

// ---------------------------------------------------------------------------
// The call log
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub(super) struct CallsQuery {
    agent: Option<String>,
    queue: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    format: Option<String>,
}

fn secs(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |s| json!(s))
}

fn call_json(c: &CallRow, whole: bool) -> Value {
    json!({
        "call": c.call, "agent": c.agent, "queue": c.queue,
        "offered_at": format_ts(c.offered_at),
        "answered_at": c.answered_at.map(format_ts), "abandoned_at": c.abandoned_at.map(format_ts),
        "ended_at": c.ended_at.map(format_ts),
        "wait_secs": secs(c.wait_secs()), "talk_secs": secs(c.talk_secs()),
        "caller": c.caller.as_deref().map(|n| if whole { n.to_owned() } else { mask(n) }),
    })
}

const CALL_HEADER: [&str; 10] = [
    "call",
    "agent",
    "queue",
    "offered_at",
    "answered_at",
    "abandoned_at",
    "ended_at",
    "wait_secs",
    "talk_secs",
    "caller",
];

fn call_csv(c: &CallRow, whole: bool, tz: chrono_tz::Tz) -> Vec<String> {
    let t = |v: Option<i64>| v.map(|t| local(t, tz)).unwrap_or_default();
    let s = |v: Option<f64>| v.map(|s| format!("{s:.1}")).unwrap_or_default();
    vec![
        c.call.clone(),
        c.agent.clone().unwrap_or_default(),
        c.queue.clone().unwrap_or_default(),
        local(c.offered_at, tz),
        t(c.answered_at),
        t(c.abandoned_at),
        t(c.ended_at),
        s(c.wait_secs()),
        s(c.talk_secs()),
        c.caller.as_deref().map(|n| if whole { n.to_owned() } else { mask(n) }).unwrap_or_default(),
    ]
}

pub(super) async fn calls(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CallsQuery>,
) -> Result<Response, ApiError> {
    let filter = CallFilter {
        agent: q.agent,
        queue: q.queue,
        from_ms: time_param("from", q.from.as_deref())?,
        to_ms: time_param("to", q.to.as_deref())?,
        limit: q.limit.unwrap_or(10_000),
        call: None,
    };
    let csv = wants_csv(q.format.as_deref())?;
    let rows = st.incidents.store.list_calls(filter).await.map_err(store_error)?;
    let whole = sees_numbers(&st, &read_actor(&st, &headers, peer));
    if csv {
        let tz = st.timezone;
        return Ok(csv_response("calls.csv", &CALL_HEADER, rows.iter().map(|c| call_csv(c, whole, tz))));
    }
    Ok(Json(rows.iter().map(|c| call_json(c, whole)).collect::<Vec<_>>()).into_response())
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

/// A rule as posted and as published: the canonical body is this, every field
/// written out, serialised by serde_json in field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleDoc {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    rate: f64,
    #[serde(default)]
    per_agent_min: u32,
    #[serde(default)]
    seed: String,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    strata: Option<StrataDoc>,
    #[serde(default)]
    band: Option<f64>,
    #[serde(default)]
    new_agents: Vec<String>,
    #[serde(default)]
    new_agent_factor: Option<f64>,
    #[serde(default)]
    watch_list: Vec<String>,
    #[serde(default)]
    watch_factor: Option<f64>,
    #[serde(default, skip_serializing)]
    by: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StrataDoc {
    queue: bool,
    weekday: bool,
    hour: bool,
}

/// Reads a rule from its document (as posted, or the canonical body stored).
fn rule_of(d: &RuleDoc, floor_tz: chrono_tz::Tz) -> Result<Rule, ApiError> {
    let t = |f: &str, v: &str| parse_ts(v).map_err(|e| unprocessable(f, e.in_field(f)));
    let timezone = match &d.timezone {
        None => floor_tz,
        Some(z) => {
            z.parse().map_err(|_| unprocessable("timezone", format!("{z} is not an IANA time zone")))?
        }
    };
    let s = d.strata.map_or_else(Strata::default, |s| Strata {
        queue: s.queue,
        weekday: s.weekday,
        hour: s.hour,
    });
    let mut r = Rule {
        id: d.id.clone().unwrap_or_default(),
        name: d.name.clone(),
        from_ms: t("from", &d.from)?,
        to_ms: t("to", &d.to)?,
        rate: d.rate,
        per_agent_min: d.per_agent_min,
        seed: d.seed.clone(),
        timezone,
        strata: s,
        band: d.band,
        new_agents: d.new_agents.clone(),
        new_agent_factor: d.new_agent_factor.unwrap_or(2.0),
        watch_list: d.watch_list.clone(),
        watch_factor: d.watch_factor.unwrap_or(2.0),
    };
    if r.id.is_empty() {
        // Not checked below: filled in from the digest.
        r.id = "pending".into();
    }
    r.check().map_err(|(f, m)| unprocessable(f, m))?;
    Ok(r)
}

/// The canonical document of a rule: what is stored, hashed and published.
fn canonical(r: &Rule) -> RuleDoc {
    RuleDoc {
        id: None,
        name: r.name.clone(),
        from: format_ts(r.from_ms),
        to: format_ts(r.to_ms),
        rate: r.rate,
        per_agent_min: r.per_agent_min,
        seed: r.seed.clone(),
        timezone: Some(r.timezone.name().to_owned()),
        strata: Some(StrataDoc { queue: r.strata.queue, weekday: r.strata.weekday, hour: r.strata.hour }),
        band: r.band,
        new_agents: r.new_agents.clone(),
        new_agent_factor: Some(r.new_agent_factor),
        watch_list: r.watch_list.clone(),
        watch_factor: Some(r.watch_factor),
        by: None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl WriteBody for RuleDoc {
    type Valid = RuleDoc;
    // QA staff hold supervisor tokens: a rule binds every team.
    const NEEDS: Can = Can::Incidents;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, _: &Author) -> Result<RuleDoc, ApiError> {
        Ok(self)
    }
}

/// The rule's row: its canonical body (the floor's zone filled in when the
/// post names none), that body's SHA-256, and its id (given, or from the digest).
fn new_rule(doc: &RuleDoc, floor_tz: chrono_tz::Tz, author: &Author) -> Result<RuleRow, ApiError> {
    let mut rule = rule_of(doc, floor_tz)?;
    if rule.from_ms <= author.at {
        return Err(unprocessable(
            "from",
            "a rule is registered before its period starts: from must be in the future",
        ));
    }
    let body = serde_json::to_string(&canonical(&rule))
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let digest = hex(ring::digest::digest(&ring::digest::SHA256, body.as_bytes()).as_ref());
    let id = doc.id.clone().unwrap_or_else(|| format!("rule-{}", &digest[..12]));
    rule.id = id.clone();
    rule.check().map_err(|(f, m)| unprocessable(f, m))?;
    Ok(RuleRow {
        id,
        name: rule.name,
        from_ms: rule.from_ms,
        to_ms: rule.to_ms,
        body,
        digest,
        registered_at: author.at,
        registered_by: author.actor.clone(),
    })
}

fn rule_json(r: &RuleRow) -> Value {
    let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
    json!({
        "id": r.id, "name": r.name, "from": format_ts(r.from_ms), "to": format_ts(r.to_ms),
        "rule": body, "body": r.body, "sha256": r.digest,
        "registered_at": format_ts(r.registered_at), "registered_by": r.registered_by,
    })
}

/// `POST /api/qa/rules`: 201 when registered; 200 when the same rule was
/// registered before under its id; 409 when the id holds another rule.
pub(super) async fn register(
    State(st): State<AppState>,
    w: AdminWrite<RuleDoc>,
) -> Result<Response, ApiError> {
    let AdminWrite { body, author } = w;
    let row = new_rule(&body, st.timezone, &author)?;
    let audit = Audit {
        at: author.at,
        actor: author.actor.clone(),
        action: "qa.rule.register".into(),
        target: Some(row.id.clone()),
        detail: Some(row.body.clone()),
    };
    match st.incidents.store.register_rule(row.clone(), audit).await.map_err(store_error)? {
        Registered::Created => Ok((StatusCode::CREATED, Json(rule_json(&row))).into_response()),
        Registered::Exists(e) if e.digest == row.digest => Ok(Json(rule_json(&e)).into_response()),
        Registered::Exists(e) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("rule {} is registered (sha256 {}) and cannot change", e.id, e.digest),
        )),
    }
}

pub(super) async fn list_rules(State(st): State<AppState>) -> Result<Response, ApiError> {
    let rules = st.incidents.store.list_rules().await.map_err(store_error)?;
    Ok(Json(rules.iter().map(rule_json).collect::<Vec<_>>()).into_response())
}

async fn load_rule(st: &AppState, id: String) -> Result<(RuleRow, Rule), ApiError> {
    let row = st
        .incidents
        .store
        .get_rule(id.clone())
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no rule {id}")))?;
    let doc: RuleDoc = serde_json::from_str(&row.body).map_err(|e| {
        tracing::error!(rule = %row.id, error = %e, "stored rule does not read");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the stored rule does not read")
    })?;
    let mut rule = rule_of(&doc, st.timezone)?;
    rule.id = row.id.clone();
    Ok((row, rule))
}

pub(super) async fn get_rule(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (row, _) = load_rule(&st, id).await?;
    Ok(Json(rule_json(&row)).into_response())
}

async fn run_rule(st: &AppState, rule: &Rule) -> Result<(Vec<CallRow>, Sample), ApiError> {
    let filter = CallFilter { from_ms: Some(rule.from_ms), to_ms: Some(rule.to_ms), ..CallFilter::default() };
    let calls = st.incidents.store.list_calls(filter).await.map_err(store_error)?;
    let s = sample::sample(rule, &calls);
    Ok((calls, s))
}

#[derive(Debug, Deserialize)]
pub(super) struct FormatQuery {
    format: Option<String>,
}

/// `GET /api/qa/rules/{id}/sample`: the calls the rule picks, the same on every
/// run over the same call log.
pub(super) async fn rule_sample(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(q.format.as_deref())?;
    let (row, rule) = load_rule(&st, id).await?;
    let (_, s) = run_rule(&st, &rule).await?;
    let whole = sees_numbers(&st, &read_actor(&st, &headers, peer));
    let reasons = |p: &sample::Pick| p.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>();
    if csv {
        let tz = st.timezone;
        let mut header = CALL_HEADER.to_vec();
        header.push("reasons");
        let rows = s.picks.iter().map(|p| {
            let mut r = call_csv(&p.call, whole, tz);
            r.push(reasons(p).join(" "));
            r
        });
        return Ok(csv_response(&format!("sample-{}.csv", row.id), &header, rows));
    }
    let picks: Vec<Value> = s
        .picks
        .iter()
        .map(|p| {
            let mut v = call_json(&p.call, whole);
            v["reasons"] = json!(reasons(p));
            v["key"] = json!(format!("{:016x}", p.key));
            v
        })
        .collect();
    Ok(Json(json!({
        "rule": row.id, "sha256": row.digest, "eligible": s.eligible, "target": s.target,
        "count": picks.len(), "calls": picks,
    }))
    .into_response())
}

/// `GET /api/qa/rules/{id}/quotas`: this week's minimum per agent and what has
/// been reviewed of it; `under` lists who is short.
pub(super) async fn quotas(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (row, rule) = load_rule(&st, id).await?;
    let (calls, _) = run_rule(&st, &rule).await?;
    let reviews = st.incidents.store.list_reviews(None, None, None).await.map_err(store_error)?;
    let now = st.incidents.now_ms();
    let q = crate::qa::quotas(&rule, &calls, &reviews, now);
    let agents: Vec<Value> = q
        .iter()
        .map(|q| json!({"agent": q.agent, "minimum": q.minimum, "picked": q.picked, "reviewed": q.reviewed, "under": q.under()}))
        .collect();
    let under: Vec<&str> = q.iter().filter(|q| q.under()).map(|q| q.agent.as_str()).collect();
    Ok(Json(json!({"rule": row.id, "at": format_ts(now), "agents": agents, "under": under})).into_response())
}

// ---------------------------------------------------------------------------
// Reviews
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewBody {
    call: Option<String>,
    rule: Option<String>,
    #[serde(default)]
    deductions: Vec<DeductionDoc>,
    note: Option<String>,
    by: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeductionDoc {
    item: String,
    points: f64,
}

impl WriteBody for ReviewBody {
    type Valid = ReviewBody;
    const NEEDS: Can = Can::Incidents;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, _: &Author) -> Result<ReviewBody, ApiError> {
        if self.call.as_deref().is_none_or(|c| c.trim().is_empty()) {
            return Err(unprocessable("call", "a review is of one call"));
        }
        Ok(self)
    }
}

fn review_json(r: &ReviewRow) -> Value {
    let deductions: Value = serde_json::from_str(&r.deductions).unwrap_or(Value::Null);
    json!({
        "id": r.id, "call": r.call, "rule": r.rule_id, "agent": r.agent, "reviewer": r.reviewer,
        "reviewed_at": format_ts(r.reviewed_at), "deductions": deductions, "score": r.score,
        "grade": Grade::of(r.score).as_str(), "note": r.note,
    })
}

pub(super) async fn review(
    State(st): State<AppState>,
    w: AdminWrite<ReviewBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body, author } = w;
    let call_id = body.call.clone().unwrap_or_default();
    let filter = CallFilter { call: Some(call_id.clone()), ..CallFilter::default() };
    let calls = st.incidents.store.list_calls(filter).await.map_err(store_error)?;
    let Some(call) = calls.into_iter().rev().find(|c| c.agent.is_some()) else {
        return Err(unprocessable("call", format!("{call_id} is no answered call in the call log")));
    };
    if let Some(rule) = &body.rule {
        let (_, r) = load_rule(&st, rule.clone()).await?;
        let (_, s) = run_rule(&st, &r).await?;
        if !s.picks.iter().any(|p| p.call.call == call.call && p.call.offered_at == call.offered_at) {
            return Err(unprocessable("call", format!("rule {rule} did not pick {call_id}")));
        }
    }
    let d: Vec<(String, f64)> = body.deductions.iter().map(|d| (d.item.clone(), d.points)).collect();
    let score =
        score::score(&st.qa.sheet, &d).map_err(|(i, m)| unprocessable(&format!("deductions[{i}]"), m))?;
    let row = ReviewRow {
        id: 0,
        call: call.call.clone(),
        rule_id: body.rule.clone(),
        agent: call.agent.clone().unwrap_or_default(),
        reviewer: author.actor.clone(),
        reviewed_at: author.at,
        deductions: serde_json::to_string(&body.deductions).unwrap_or_else(|_| "[]".into()),
        score,
        note: body.note.clone(),
    };
    let audit = author.into_audit("qa.review", None);
    match st.incidents.store.save_review(row, audit).await.map_err(store_error)? {
        Some(r) => Ok((StatusCode::CREATED, Json(review_json(&r))).into_response()),
        None => Err(ApiError::new(StatusCode::CONFLICT, format!("call {call_id} has a review already"))),
    }
}

/// `GET /api/qa/sheet`: what a reviewer may deduct, so the console's score form
/// is built from the same sheet the server scores with.
pub(super) async fn sheet(State(st): State<AppState>) -> Response {
    let items: Vec<Value> =
        st.qa.sheet.iter().map(|i| json!({"id": i.id, "zh": i.zh, "en": i.en, "points": i.points})).collect();
    let bands: Vec<Value> = [
        (90.0, Grade::Excellent),
        (85.0, Grade::Good),
        (75.0, Grade::NeedsImprovement),
        (0.0, Grade::Fail),
    ]
    .iter()
    .map(|(from, g)| json!({"grade": g.as_str(), "from": from, "zh": g.name(true), "en": g.name(false)}))
    .collect();
    Json(json!({"items": items, "bands": bands, "review_weight": score::REVIEW_WEIGHT})).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct ReviewsQuery {
    agent: Option<String>,
    /// `YYYY-MM`, in the floor's zone.
    month: Option<String>,
}

/// The month `YYYY-MM` in `tz` as `[from, to)` UTC ms.
fn month_range(m: &str, tz: chrono_tz::Tz) -> Option<(i64, i64)> {
    crate::qa::Month::parse(m)?.range(tz)
}

/// Whom a reader may see: a viewer sees only itself (its token's name is its
/// agent id); a lead or above, anyone.
fn scope(actor: &Actor, asked: Option<String>) -> Result<Option<String>, ApiError> {
    if actor.role >= Role::Lead {
        return Ok(asked);
    }
    if !actor.named {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "reviews are read with a token"));
    }
    match asked {
        Some(a) if a != actor.name => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{} may read only their own reviews", actor.name),
        )),
        _ => Ok(Some(actor.name.clone())),
    }
}

pub(super) async fn list_reviews(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<ReviewsQuery>,
) -> Result<Response, ApiError> {
    let actor = read_actor(&st, &headers, peer);
    let agent = scope(&actor, q.agent)?;
    let range = match q.month.as_deref() {
        None => None,
        Some(m) => Some(
            month_range(m, st.timezone)
                .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, "month", "must be YYYY-MM"))?,
        ),
    };
    let reviews = st
        .incidents
        .store
        .list_reviews(agent, range.map(|r| r.0), range.map(|r| r.1))
        .await
        .map_err(store_error)?;
    let scores: Vec<f64> = reviews.iter().map(|r| r.score).collect();
    let monthly = score::monthly(&scores).map(|(mean, part)| {
        json!({"mean": mean, "grade": Grade::of(mean).as_str(), "review_part": part, "weight": score::REVIEW_WEIGHT})
    });
    Ok(Json(json!({"reviews": reviews.iter().map(review_json).collect::<Vec<_>>(), "score": monthly}))
        .into_response())
}

// ---------------------------------------------------------------------------
// Appeals
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AppealBody {
    #[serde(default)]
    items: Vec<String>,
    reason: Option<String>,
}

fn appeal_json(a: &AppealRow) -> Value {
    let items: Value = serde_json::from_str(&a.items).unwrap_or(Value::Null);
    let panel: Value = a.panel.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or(Value::Null);
    json!({
        "id": a.id, "review": a.review_id, "agent": a.agent, "items": items, "reason": a.reason,
        "status": a.status, "filed_at": format_ts(a.filed_at), "lead": a.lead,
        "lead_at": a.lead_at.map(format_ts), "panel": panel, "decided_at": a.decided_at.map(format_ts),
        "score": a.score, "note": a.note,
    })
}

fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        unprocessable(if path == "." { "body" } else { path.as_str() }, e.inner().to_string())
    })
}

/// `POST /api/qa/reviews/{id}/appeal`: only the reviewed agent (its token's
/// name) or a supervisor on its behalf; each appealed item must be one the
/// review deducted.
pub(super) async fn appeal(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let actor = write_actor(&st, &headers, peer)?;
    let b: AppealBody = parse_body(&body)?;
    let review = st
        .incidents
        .store
        .get_review(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no review {id}")))?;
    let own = actor.named && actor.name == review.agent;
    if !own && !actor.may(Can::Incidents) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("only {} (or a supervisor) may appeal review {id}", review.agent),
        ));
    }
    let reason = b.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    let Some(reason) = reason else { return Err(unprocessable("reason", "an appeal gives its reason")) };
    let deducted: Vec<DeductionDoc> = serde_json::from_str(&review.deductions).unwrap_or_default();
    if b.items.is_empty() {
        return Err(unprocessable("items", "name the deducted items appealed"));
    }
    for (i, it) in b.items.iter().enumerate() {
        if !deducted.iter().any(|d| &d.item == it) {
            return Err(unprocessable(
                &format!("items[{i}]"),
                format!("{it} was not deducted in review {id}"),
            ));
        }
    }
    let now = st.incidents.now_ms();
    let row = AppealRow {
        id: 0,
        review_id: id,
        agent: review.agent.clone(),
        items: serde_json::to_string(&b.items).unwrap_or_else(|_| "[]".into()),
        reason,
        status: "filed".into(),
        filed_at: now,
        lead: None,
        lead_at: None,
        panel: None,
        decided_at: None,
        score: None,
        note: None,
    };
    let audit = Audit {
        at: now,
        actor: actor.name.clone(),
        action: "qa.appeal.file".into(),
        target: None,
        detail: Some(String::from_utf8_lossy(&body).into_owned()),
    };
    match st.incidents.store.file_appeal(row, audit).await.map_err(store_error)? {
        Some(a) => Ok((StatusCode::CREATED, Json(appeal_json(&a))).into_response()),
        None => Err(ApiError::new(StatusCode::CONFLICT, format!("review {id} has an appeal already"))),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LeadBody {
    note: Option<String>,
    by: Option<String>,
}

impl WriteBody for LeadBody {
    type Valid = Option<String>;
    const NEEDS: Can = Can::Ack;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, _: &Author) -> Result<Option<String>, ApiError> {
        Ok(self.note)
    }
}

/// The team of an agent on the floor now (what a lead's reach is judged by).
fn agent_team(st: &AppState, agent: &str) -> Option<String> {
    let snap = st.snapshot.borrow().clone();
    snap.agents.iter().find(|a| a.id.as_str() == agent).and_then(|a| a.team.as_ref()).map(|t| t.to_string())
}

fn stepped(r: Stepped, id: i64, from: &str) -> Result<Response, ApiError> {
    match r {
        Stepped::Done(a) => Ok(Json(appeal_json(&a)).into_response()),
        Stepped::NotFound => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no appeal {id}"))),
        Stepped::WrongState(a) => {
            Err(ApiError::new(StatusCode::CONFLICT, format!("appeal {id} is {}, not {from}", a.status)))
        }
    }
}

async fn lead_step(
    st: AppState,
    id: i64,
    w: AdminWrite<LeadBody>,
    to: &'static str,
) -> Result<Response, ApiError> {
    let AdminWrite { body: note, author } = w;
    let a = st
        .incidents
        .store
        .get_appeal(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no appeal {id}")))?;
    author.reach("appeal", agent_team(&st, &a.agent).as_deref())?;
    let step = AppealStep {
        id,
        from: "filed",
        to,
        at: author.at,
        lead: Some(author.actor.clone()),
        panel: None,
        score: None,
        note,
    };
    let audit = author.into_audit(&format!("qa.appeal.{to}"), Some(format!("appeal:{id}")));
    stepped(st.incidents.store.step_appeal(step, audit).await.map_err(store_error)?, id, "filed")
}

/// `POST /api/qa/appeals/{id}/accept`: the agent's lead sends it to the
/// three-party review.
pub(super) async fn accept(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    w: AdminWrite<LeadBody>,
) -> Result<Response, ApiError> {
    lead_step(st, id, w, "accepted").await
}

pub(super) async fn reject(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    w: AdminWrite<LeadBody>,
) -> Result<Response, ApiError> {
    lead_step(st, id, w, "rejected").await
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecideBody {
    decision: Option<String>,
    score: Option<f64>,
    qa: Option<String>,
    note: Option<String>,
    by: Option<String>,
}

pub(super) struct Decision {
    amended: Option<f64>,
    qa: String,
    note: Option<String>,
}

impl WriteBody for DecideBody {
    type Valid = Decision;
    const NEEDS: Can = Can::Incidents;

    fn take_by(&mut self) -> Option<String> {
        self.by.take()
    }

    fn validate(self, _: &Author) -> Result<Decision, ApiError> {
        let qa = self.qa.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
        let Some(qa) = qa else { return Err(unprocessable("qa", "name the QA member of the review")) };
        let amended = match (self.decision.as_deref(), self.score) {
            (Some("upheld"), None) => None,
            (Some("upheld"), Some(_)) => {
                return Err(unprocessable("score", "an upheld review keeps its score"));
            }
            (Some("amended"), Some(s)) if (0.0..=100.0).contains(&s) => Some(s),
            (Some("amended"), _) => {
                return Err(unprocessable("score", "an amended review gets a score 0-100"));
            }
            _ => return Err(unprocessable("decision", "must be upheld or amended")),
        };
        Ok(Decision { amended, qa, note: self.note })
    }
}

/// `POST /api/qa/appeals/{id}/decide`: the three-party review's decision,
/// entered by its supervisor; the lead is the one who accepted the appeal.
pub(super) async fn decide(
    State(st): State<AppState>,
    Path(id): Path<i64>,
    w: AdminWrite<DecideBody>,
) -> Result<Response, ApiError> {
    let AdminWrite { body, author } = w;
    let a = st
        .incidents
        .store
        .get_appeal(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no appeal {id}")))?;
    let panel = json!({"supervisor": author.actor, "lead": a.lead, "qa": body.qa}).to_string();
    let step = AppealStep {
        id,
        from: "accepted",
        to: if body.amended.is_some() { "amended" } else { "upheld" },
        at: author.at,
        lead: None,
        panel: Some(panel),
        score: body.amended,
        note: body.note,
    };
    let audit = author.into_audit("qa.appeal.decide", Some(format!("appeal:{id}")));
    stepped(st.incidents.store.step_appeal(step, audit).await.map_err(store_error)?, id, "accepted")
}

#[derive(Debug, Deserialize)]
pub(super) struct AppealsQuery {
    agent: Option<String>,
}

pub(super) async fn list_appeals(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<AppealsQuery>,
) -> Result<Response, ApiError> {
    let agent = scope(&read_actor(&st, &headers, peer), q.agent)?;
    let list = st.incidents.store.list_appeals(agent).await.map_err(store_error)?;
    Ok(Json(list.iter().map(appeal_json).collect::<Vec<_>>()).into_response())
}

// ---------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub(super) struct ReportQuery {
    period: Option<String>,
    date: Option<String>,
    format: Option<String>,
    /// `zh-CN` (default) or `en`, for `format=html`.
    lang: Option<String>,
}

const REPORT_HEADER: [&str; 23] = [
    "by",
    "id",
    "offered",
    "handled",
    "abandoned",
    "answer_rate",
    "aht_secs",
    "asa_secs",
    "service_level",
    "qa_score",
    "qa_grade",
    "logged_in_secs",
    "ready_secs",
    "ringing_secs",
    "talk_secs",
    "hold_secs",
    "acw_secs",
    "not_ready_secs",
    "not_ready_by_reason",
    "acw_share",
    "occupancy",
    "acw_overruns",
    "busy_overruns",
];

/// A not-ready reason as a CSV cell shows it (`(none)`: none given; not a
/// leading `-`, which the CSV's formula guard would quote).
fn reason_label(r: &str) -> &str {
    if r.is_empty() { "(none)" } else { r }
}

fn report_cells(r: &report::Row) -> Vec<String> {
    let f = |v: Option<f64>, d: usize| v.map(|x| format!("{x:.d$}")).unwrap_or_default();
    let mut cells = vec![
        r.by.as_str().to_owned(),
        r.id.clone(),
        r.offered.to_string(),
        r.handled.to_string(),
        r.abandoned.to_string(),
        f(r.answer_rate, 3),
        f(r.aht_secs, 1),
        f(r.asa_secs, 1),
        f(r.service_level, 3),
        f(r.qa_score, 1),
        r.qa_score.map(|s| Grade::of(s).as_str().to_owned()).unwrap_or_default(),
    ];
    let t = r.time.as_ref();
    for secs in [
        t.map(|t| t.logged_in_secs),
        t.map(|t| t.ready_secs),
        t.map(|t| t.ringing_secs),
        t.map(|t| t.talk_secs),
        t.map(|t| t.hold_secs),
        t.map(|t| t.acw_secs),
        t.map(|t| t.not_ready_secs),
    ] {
        cells.push(f(secs, 1));
    }
    cells.push(t.map_or_else(String::new, |t| {
        t.not_ready_by_reason
            .iter()
            .map(|(reason, secs)| format!("{}={secs:.1}", reason_label(reason)))
            .collect::<Vec<_>>()
            .join(";")
    }));
    cells.push(f(t.and_then(|t| t.acw_share), 3));
    cells.push(f(t.and_then(|t| t.occupancy), 3));
    cells.push(r.overruns.map(|o| o.acw.to_string()).unwrap_or_default());
    cells.push(r.overruns.map(|o| o.busy.to_string()).unwrap_or_default());
    cells
}

/// A row as the JSON of `/api/reports` has it.
fn report_json(r: &report::Row) -> Value {
    let t = r.time.as_ref();
    json!({
        "by": r.by.as_str(), "id": r.id, "offered": r.offered, "handled": r.handled, "abandoned": r.abandoned,
        "answer_rate": r.answer_rate, "aht_secs": r.aht_secs, "asa_secs": r.asa_secs,
        "service_level": r.service_level, "qa_score": r.qa_score,
        "qa_grade": r.qa_score.map(|s| Grade::of(s).as_str()),
        "logged_in_secs": t.map(|t| t.logged_in_secs), "ready_secs": t.map(|t| t.ready_secs),
        "ringing_secs": t.map(|t| t.ringing_secs), "talk_secs": t.map(|t| t.talk_secs),
        "hold_secs": t.map(|t| t.hold_secs), "acw_secs": t.map(|t| t.acw_secs),
        "not_ready_secs": t.map(|t| t.not_ready_secs),
        "not_ready_by_reason": t.map(|t| &t.not_ready_by_reason),
        "acw_share": t.and_then(|t| t.acw_share), "occupancy": t.and_then(|t| t.occupancy),
        "overruns": r.overruns.map(|o| json!({"acw_overrun": o.acw, "busy_overrun": o.busy})),
    })
}

/// Seconds as the printed page shows them, `h:mm:ss`.
fn hms(secs: f64) -> String {
    let s = secs.round() as i64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A printed page's language (`lang=zh-CN`, the default, or `en`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Zh,
    En,
}

impl Lang {
    fn parse(s: Option<&str>) -> Result<Lang, ApiError> {
        match s {
            None | Some("zh-CN" | "zh" | "zh-cn") => Ok(Lang::Zh),
            Some("en") => Ok(Lang::En),
            Some(_) => Err(ApiError::field(StatusCode::BAD_REQUEST, "lang", "must be zh-CN or en")),
        }
    }

    fn zh(self) -> bool {
        self == Lang::Zh
    }

    fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        if self.zh() { zh } else { en }
    }

    fn tag(self) -> &'static str {
        self.pick("zh-CN", "en")
    }
}

/// The printed pages' style: no external asset (fonts are the reader's), A4
/// landscape, table headers repeated on every printed page, rows never split.
const PRINT_CSS: &str = "body{font:11pt 'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;\
margin:2em;color:#000;background:#fff}h1{font-size:16pt;margin:0 0 .3em}h2{font-size:13pt;margin:1.2em 0 .3em}\
.meta{margin:.2em 0 .8em}table{border-collapse:collapse;width:100%;margin-bottom:1em}\
th,td{border:1px solid #888;padding:.15em .5em;text-align:right;vertical-align:top}th{background:#eee}\
td:first-child,th:first-child{text-align:left}table.legend{width:auto}\
@page{size:A4 landscape;margin:12mm}\
@media print{body{margin:0}thead{display:table-header-group}tr{break-inside:avoid}h2{break-after:avoid}}";

/// A self-contained printable page.
fn html_page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{PRINT_CSS}</style></head><body>{body}</body></html>",
        lang.tag(),
        escape(title)
    )
}

/// The grade bands as a small table.
fn grade_legend(lang: Lang) -> String {
    let bands = [
        (Grade::Excellent, "≥ 90"),
        (Grade::Good, "85–90"),
        (Grade::NeedsImprovement, "75–85"),
        (Grade::Fail, "< 75"),
    ];
    let mut out = format!("<table class=\"legend\"><tr><th>{}</th>", lang.pick("质检等级", "QA grades"));
    for (g, range) in bands {
        out.push_str(&format!("<td>{} {range}</td>", g.name(lang.zh())));
    }
    out.push_str("</tr></table>");
    out
}

/// A printable page: a table per group kind, headings in the page's language.
fn report_html(rows: &[report::Row], period: report::Period, date: &str, lang: Lang) -> String {
    let l = |zh: &'static str, en: &'static str| lang.pick(zh, en);
    let heads = [
        l("对象", "Who"),
        l("来话", "Offered"),
        l("接听", "Handled"),
        l("放弃", "Abandoned"),
        l("接通率", "Answer rate"),
        l("平均处理时长(秒)", "AHT (s)"),
        l("平均应答(秒)", "ASA (s)"),
        l("服务水平", "Service level"),
        l("质检得分", "QA score"),
        l("等级", "Grade"),
    ];
    let period_name = match period {
        report::Period::Day => l("日报", "day"),
        report::Period::Week => l("周报", "week"),
        report::Period::Month => l("月报", "month"),
    };
    let title = format!("{} · {period_name} · {date}", l("话务与质检报表", "KPI and QA report"));
    let mut out = format!("<h1>{}</h1>", escape(&title));
    out.push_str(&grade_legend(lang));
    for (by, name) in [
        (report::By::Agent, l("坐席", "Agents")),
        (report::By::Team, l("班组", "Teams")),
        (report::By::Queue, l("队列", "Queues")),
    ] {
        out.push_str(&format!("<h2>{name}</h2><table><thead><tr>"));
        for h in heads {
            out.push_str(&format!("<th>{}</th>", escape(h)));
        }
        out.push_str("</tr></thead><tbody>");
        for r in rows.iter().filter(|r| r.by == by) {
            let mut cells = report_cells(r);
            if let Some(g) = r.qa_score.map(Grade::of) {
                cells[10] = g.name(lang.zh()).to_owned();
            }
            out.push_str("<tr>");
            for c in cells.iter().take(11).skip(1) {
                out.push_str(&format!("<td>{}</td>", escape(c)));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }
    // Agent time: agents and teams only (queues have none: see `qa::report`).
    out.push_str(&format!(
        "<h2>{}</h2><p class=\"meta\">{}</p>",
        l("坐席时间", "Agent time"),
        escape(l(
            "话后处理占比 = 话后 ÷ (通话 + 保持 + 话后)；占用率 = (通话 + 保持 + 话后 + 振铃) ÷ (同上 + 就绪)",
            "ACW share = ACW ÷ (talk + hold + ACW); occupancy = (talk + hold + ACW + ringing) ÷ (the same + ready)"
        ))
    ));
    let time_heads = [
        l("对象", "Who"),
        l("登录", "Logged in"),
        l("就绪", "Ready"),
        l("振铃", "Ringing"),
        l("通话", "Talk"),
        l("保持", "Hold"),
        l("话后", "ACW"),
        l("未就绪", "Not ready"),
        l("未就绪原因", "Not ready by reason"),
        l("话后处理占比", "ACW share"),
        l("占用率", "Occupancy"),
        l("话后超时", "ACW overruns"),
        l("示忙超时", "Busy overruns"),
    ];
    for (by, name) in [(report::By::Agent, l("坐席", "Agents")), (report::By::Team, l("班组", "Teams"))] {
        out.push_str(&format!("<h2>{name} · {}</h2><table><thead><tr>", l("坐席时间", "agent time")));
        for h in time_heads {
            out.push_str(&format!("<th>{}</th>", escape(h)));
        }
        out.push_str("</tr></thead><tbody>");
        for r in rows.iter().filter(|r| r.by == by) {
            let (Some(t), o) = (r.time.as_ref(), r.overruns.unwrap_or_default()) else { continue };
            let ratio = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_default();
            let reasons = t
                .not_ready_by_reason
                .iter()
                .map(|(reason, secs)| {
                    let name = if reason.is_empty() { l("未注明", "(none)") } else { reason.as_str() };
                    format!("{name} {}", hms(*secs))
                })
                .collect::<Vec<_>>()
                .join("; ");
            let cells = [
                r.id.clone(),
                hms(t.logged_in_secs),
                hms(t.ready_secs),
                hms(t.ringing_secs),
                hms(t.talk_secs),
                hms(t.hold_secs),
                hms(t.acw_secs),
                hms(t.not_ready_secs),
                reasons,
                ratio(t.acw_share),
                ratio(t.occupancy),
                o.acw.to_string(),
                o.busy.to_string(),
            ];
            out.push_str("<tr>");
            for c in &cells {
                out.push_str(&format!("<td>{}</td>", escape(c)));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }
    html_page(lang, &title, &out)
}

/// `GET /api/reports?period=day|week|month&date=YYYY-MM-DD[&format=json|csv|html&lang=zh-CN|en]`.
pub(super) async fn reports(
    State(st): State<AppState>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let period_s = q.period.as_deref().unwrap_or("day");
    let period = report::Period::parse(period_s)
        .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, "period", "must be day, week or month"))?;
    let date = q
        .date
        .as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, "date", "must be YYYY-MM-DD"))?;
    let range = period
        .range(date, st.timezone)
        .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, "date", "no such day in the floor's zone"))?;
    let filter = CallFilter { from_ms: Some(range.0), to_ms: Some(range.1), ..CallFilter::default() };
    let calls = st.incidents.store.list_calls(filter).await.map_err(store_error)?;
    let reviews =
        st.incidents.store.list_reviews(None, Some(range.0), Some(range.1)).await.map_err(store_error)?;
    let snap = st.snapshot.borrow().clone();
    let team_of = |a: &str| {
        snap.agents.iter().find(|x| x.id.as_str() == a).and_then(|x| x.team.as_ref()).map(|t| t.to_string())
    };
    let sl = |queue: &str| {
        snap.queues.iter().find(|x| x.id.as_str() == queue).map_or(20, |x| x.params.sl_threshold_secs)
    };
    let states = st.incidents.store.list_states(range.0, range.1).await.map_err(store_error)?;
    // Overruns started in the period (a month of a big floor stays far below the cap).
    let filter = OverrunFilter {
        from_ms: Some(range.0),
        to_ms: Some(range.1),
        limit: 100_000,
        ..OverrunFilter::default()
    };
    let overruns = st.incidents.store.list_overruns(filter).await.map_err(store_error)?;
    let rows = report::report(&calls, &reviews, &states, &overruns, range, &team_of, &sl);
    let date_s = date.format("%Y-%m-%d").to_string();
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(json!({
            "period": period_s, "date": date_s, "from": format_ts(range.0), "to": format_ts(range.1),
            "rows": rows.iter().map(report_json).collect::<Vec<_>>(),
        }))
        .into_response()),
        Some("csv") => Ok(csv_response(
            &format!("report-{period_s}-{date_s}.csv"),
            &REPORT_HEADER,
            rows.iter().map(report_cells),
        )),
        Some("html") => {
            let page = report_html(&rows, period, &date_s, Lang::parse(q.lang.as_deref())?);
            Ok(([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
        }
        Some(_) => Err(ApiError::field(StatusCode::BAD_REQUEST, "format", "must be json, csv or html")),
    }
}
