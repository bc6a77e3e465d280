//! Twilio TaskRouter events (`POST /ingest/twilio`, also `WS`): the workspace's
//! Event Callback (form-encoded, PascalCase: `EventType`, `Sid`, `Timestamp` in
//! seconds, `TaskSid`, `WorkerSid`, …) and Event Streams webhook deliveries (a
//! JSON array of CloudEvents, `type` `com.twilio.taskrouter.…`, `id`, `time`, the
//! event in `data.payload` in snake_case). Both are read by the same mapping.
//!
//! A task is a call: `task.created`/`task-queue.entered` (with a queue) →
//! offered, `reservation.created` → the worker rings, `reservation.accepted` →
//! answered, `task.wrapup`/`reservation.wrapup` → ended and the worker in
//! after-call work, `task.completed`/`reservation.completed` → the worker back
//! to its activity, `task.canceled` before an answer → abandoned. A worker's
//! activity (`worker.activity.update`, `WorkerActivityName`) goes through the
//! source's mapping (`Offline` logout, `Available` ready, `Break` not ready…);
//! leaving `Offline` is a login. Each step is emitted once per task; duplicates
//! by event `Sid` (or CloudEvents `id`) are dropped and counted. TaskRouter's
//! other events (workflows, queues, capacity, …) carry nothing the floor counts
//! and are skipped.

pub mod signature;

use std::borrow::Cow;

use serde_json::Value;

use super::vendor::{Cx, field, free_text, id_field, text_of, ts_of};
use super::vendor_config::Mapped;
use super::{RejectReason, Rejection};
use crate::event::{AgentState, Event, EventKind, Id, Ts};

const CLOUDEVENT_PREFIX: &str = "com.twilio.taskrouter.";

/// Decodes one body: CloudEvents JSON when it starts with `[` or `{`, else a
/// form-encoded callback.
pub fn decode(body: &[u8], cx: &mut Cx<'_>, out: &mut Vec<Event>, rejected: &mut Vec<Rejection>) {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'[' | b'{')) {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => {
                for (i, ce) in items.iter().enumerate() {
                    if let Err(r) = cloud_event(ce, cx, out) {
                        rejected.push(r.at(i));
                    }
                }
            }
            Ok(ce) => {
                if let Err(r) = cloud_event(&ce, cx, out) {
                    rejected.push(r.at(0));
                }
            }
            Err(e) => rejected.push(Rejection::new(RejectReason::BadJson, format!("body is not JSON: {e}"))),
        }
        return;
    }
    let pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = form_urlencoded::parse(body).collect();
    let rec = Record::Form(&pairs);
    let r = (|| {
        let kind = rec.get("EventType").ok_or_else(|| missing("EventType"))?;
        let ts = match rec.get("TimestampMs").or_else(|| rec.get("Timestamp")) {
            Some(t) => ts_of("Timestamp", &Value::String(t.into_owned()))?,
            None => return Err(missing("Timestamp")),
        };
        let id = rec.get("Sid");
        task_router(&kind, id.as_deref(), ts, &rec, cx, out)
    })();
    if let Err(r) = r {
        rejected.push(r.at(0));
    }
}

fn missing(what: &str) -> Rejection {
    Rejection::new(RejectReason::MissingField, format!("missing field `{what}`"))
}

/// The fields of one event, from a form or a JSON payload, read by name in any
/// casing (`TaskSid` finds `task_sid`).
enum Record<'a> {
    Form(&'a [(Cow<'a, str>, Cow<'a, str>)]),
    Json(&'a Value),
}

impl Record<'_> {
    fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        match self {
            Record::Form(pairs) => pairs
                .iter()
                .find(|(k, _)| same(k, key))
                .map(|(_, v)| Cow::Borrowed(v.as_ref()))
                .filter(|v| !v.is_empty()),
            Record::Json(v) => field(v, key).and_then(text_of),
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    let mut x = a.bytes().filter(|c| *c != b'_');
    let mut y = b.bytes().filter(|c| *c != b'_');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p.eq_ignore_ascii_case(&q) => {}
            _ => return false,
        }
    }
}

fn cloud_event(ce: &Value, cx: &mut Cx<'_>, out: &mut Vec<Event>) -> Result<(), Rejection> {
    if !ce.is_object() {
        return Err(Rejection::new(RejectReason::NotAnObject, "a CloudEvent must be a JSON object".into()));
    }
    let ty = field(ce, "type").and_then(Value::as_str).ok_or_else(|| missing("type"))?;
    let kind = ty.strip_prefix(CLOUDEVENT_PREFIX).ok_or_else(|| {
        Rejection::new(RejectReason::UnknownType, format!("not a TaskRouter event: {ty:?}"))
    })?;
    let data = field(ce, "data").ok_or_else(|| missing("data"))?;
    let payload = field(data, "payload").unwrap_or(data);
    let ts = match field(ce, "time").or_else(|| field(payload, "timestamp")) {
        Some(t) => ts_of("time", t)?,
        None => return Err(missing("time")),
    };
    let id = field(ce, "id").and_then(Value::as_str);
    task_router(kind, id, ts, &Record::Json(payload), cx, out)
}

/// The TaskRouter event families: anything else is not TaskRouter's.
const FAMILIES: [&str; 8] = [
    "task.",
    "reservation.",
    "worker.",
    "task-queue.",
    "workflow.",
    "workspace.",
    "activity.",
    "task-channel.",
];

fn task_router(
    kind: &str,
    id: Option<&str>,
    ts: Ts,
    rec: &Record<'_>,
    cx: &mut Cx<'_>,
    out: &mut Vec<Event>,
) -> Result<(), Rejection> {
    if !FAMILIES.iter().any(|f| kind.starts_with(f)) {
        return Err(Rejection::new(RejectReason::UnknownType, format!("unknown TaskRouter event {kind:?}")));
    }
    let task = rec.get("TaskSid").map(|t| id_field("TaskSid", &t)).transpose()?;
    let worker = rec.get("WorkerSid").map(|w| id_field("WorkerSid", &w)).transpose()?;
    let queue = queue_of(rec, cx);
    if let Some(id) = id
        && !cx.state.first_sight(id)
    {
        return Err(Rejection::new(RejectReason::Duplicate, format!("event {id} was seen already")));
    }
    let source = cx.source.clone();
    let mut push = |kind: EventKind| out.push(Event { ts, source: source.clone(), seq: None, kind });
    let need_task = || task.clone().ok_or_else(|| missing("TaskSid"));
    let need_worker = || worker.clone().ok_or_else(|| missing("WorkerSid"));
    match kind {
        "task.created" | "task-queue.entered" => {
            let call = need_task()?;
            // A task created before its workflow placed it says nothing yet:
            // `task-queue.entered` follows.
            let Some(queue) = queue else {
                return if kind == "task.created" { Ok(()) } else { Err(missing("TaskQueueSid")) };
            };
            if cx.state.first_step("off", &call) {
                let caller = rec.get("TaskAttributes").and_then(|a| caller_of(&a));
                push(EventKind::CallOffered { call, queue, caller });
            }
        }
        "reservation.created" => {
            let (call, agent) = (need_task()?, need_worker()?);
            if cx.state.first_step("ring", &format!("{call}/{agent}")) {
                let state = AgentState::Ringing;
                push(EventKind::AgentState { agent, state, reason: None, queue, call: Some(call) });
            }
        }
        "reservation.accepted" => {
            let (call, agent) = (need_task()?, need_worker()?);
            if cx.state.first_step("ans", &call) {
                cx.state.agent_of_call.insert(call.clone(), agent.clone());
                push(EventKind::CallAnswered { call, agent, queue });
            }
        }
        "reservation.rejected" | "reservation.timeout" | "reservation.canceled" | "reservation.rescinded" => {
            let agent = need_worker()?;
            if let Some(kind) = back_to_activity(agent, cx) {
                push(kind);
            }
        }
        "task.wrapup" | "reservation.wrapup" => {
            let call = need_task()?;
            let agent = worker.or_else(|| cx.state.agent_of_call.get(&call).cloned());
            if cx.state.first_step("end", &call) {
                push(EventKind::CallEnded { call: call.clone(), agent: agent.clone() });
            }
            if let Some(agent) = agent
                && cx.state.first_step("acw", &call)
            {
                push(EventKind::AgentState {
                    agent,
                    state: AgentState::Acw,
                    reason: None,
                    queue,
                    call: Some(call),
                });
            }
        }
        "task.completed" | "reservation.completed" => {
            let call = need_task()?;
            let agent = worker.or_else(|| cx.state.agent_of_call.get(&call).cloned());
            if cx.state.first_step("end", &call) {
                push(EventKind::CallEnded { call: call.clone(), agent: agent.clone() });
            }
            if let Some(agent) = agent
                && cx.state.first_step("done", &call)
                && let Some(kind) = back_to_activity(agent, cx)
            {
                push(kind);
            }
        }
        "task.canceled" => {
            let call = need_task()?;
            if cx.state.saw_step("ans", &call) {
                if cx.state.first_step("end", &call) {
                    let agent = cx.state.agent_of_call.get(&call).cloned();
                    push(EventKind::CallEnded { call, agent });
                }
            } else if cx.state.first_step("out", &call) {
                push(EventKind::CallAbandoned { call, queue });
            }
        }
        "worker.activity.update" => {
            let agent = need_worker()?;
            let activity = rec.get("WorkerActivityName").ok_or_else(|| missing("WorkerActivityName"))?;
            let mapped = cx.settings.statuses.map(&activity);
            cx.state.status_of_agent.insert(agent.clone(), mapped.clone());
            let was_offline = rec
                .get("WorkerPreviousActivityName")
                .is_some_and(|p| cx.settings.statuses.map(&p) == Mapped::Logout);
            match mapped {
                Mapped::Ignore => {}
                Mapped::Logout => push(EventKind::AgentLogout { agent, reason: None }),
                Mapped::State(state, reason) if was_offline => {
                    let name = rec.get("WorkerName").map(|n| free_text(&n));
                    push(EventKind::AgentLogin { agent, name, team: None, state, reason });
                }
                Mapped::State(state, reason) => {
                    push(EventKind::AgentState { agent, state, reason, queue: None, call: None })
                }
            }
        }
        // The rest of TaskRouter's events: nothing the floor counts.
        _ => {}
    }
    Ok(())
}

/// The worker's state after a call or a ring: its last activity as mapped
/// (TaskRouter reserves only available workers, so `ready` when none was seen).
fn back_to_activity(agent: Id, cx: &Cx<'_>) -> Option<EventKind> {
    match cx.state.status_of_agent.get(&agent).cloned().unwrap_or(Mapped::State(AgentState::Ready, None)) {
        Mapped::State(state, reason) => {
            Some(EventKind::AgentState { agent, state, reason, queue: None, call: None })
        }
        Mapped::Logout | Mapped::Ignore => None,
    }
}

/// The floorwatch queue: the source's name for the TaskQueue's sid or name, else
/// the sid.
fn queue_of(rec: &Record<'_>, cx: &Cx<'_>) -> Option<Id> {
    if let Some(name) = rec.get("TaskQueueName")
        && let Some(q) = cx.settings.queues.get(name.as_ref())
    {
        return Some(q.clone());
    }
    rec.get("TaskQueueSid").and_then(|sid| cx.settings.queue(&sid))
}

/// The caller's number from the task's attributes (a JSON string): Twilio's voice
/// tasks carry `from` (or `caller`).
fn caller_of(attributes: &str) -> Option<Id> {
    let v: Value = serde_json::from_str(attributes).ok()?;
    ["from", "caller", "caller_number"]
        .iter()
        .find_map(|k| field(&v, k).and_then(Value::as_str))
        .map(free_text)
}

#[cfg(test)]
mod tests;
