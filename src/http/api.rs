//! JSON and text endpoints that read the latest snapshot or the metrics registry.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::dto::{FloorDto, FloorFilter};

pub(super) async fn healthz(State(st): State<AppState>) -> Response {
    // The engine owns the floor; if its task is gone the snapshot sender is dropped
    // and nothing the daemon shows would be current any more.
    if st.snapshot.has_changed().is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "engine stopped"})))
            .into_response();
    }
    Json(serde_json::json!({"status": "ok"})).into_response()
}

pub(super) async fn metrics(State(st): State<AppState>) -> Response {
    let body = st.metrics.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct FloorQuery {
    /// `false` leaves the agent list out (large floors, queue-only screens).
    agents: Option<bool>,
    team: Option<String>,
    queue: Option<String>,
}

pub(super) async fn floor(State(st): State<AppState>, Query(q): Query<FloorQuery>) -> Response {
    let snap = st.snapshot.borrow().clone();
    let filter =
        FloorFilter { agents: q.agents.unwrap_or(true), team: q.team.as_deref(), queue: q.queue.as_deref() };
    Json(FloorDto::new(&snap, &filter)).into_response()
}
