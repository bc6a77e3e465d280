//! JSON and text endpoints that read the latest snapshot or the metrics registry.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::dto::{FloorDto, FloorFilter};

/// How long `/healthz` waits for the store's write round trip. A probe that
/// waits longer than this (a disk that stalls, a lock another process holds)
/// is an unhealthy daemon: it could not commit what people enter either.
const STORE_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

fn unavailable(reason: String) -> Response {
    tracing::warn!(%reason, "health check failed");
    (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "unavailable", "reason": reason})))
        .into_response()
}

/// Liveness (contract §8): the engine runs and the store commits a write.
pub(super) async fn healthz(State(st): State<AppState>) -> Response {
    // The engine owns the floor; if its task is gone the snapshot sender is dropped
    // and nothing the daemon shows would be current any more.
    if st.snapshot.has_changed().is_err() {
        return unavailable("engine stopped".into());
    }
    // A real write (the health row's upsert), answered after its COMMIT.
    match tokio::time::timeout(STORE_PROBE_TIMEOUT, st.alerts.store.ping()).await {
        Err(_) => unavailable(format!("store write not committed within {}s", STORE_PROBE_TIMEOUT.as_secs())),
        Ok(Err(e)) => unavailable(format!("store write failed: {e}")),
        Ok(Ok(())) => Json(serde_json::json!({"status": "ok", "engine": "running", "store": "writable"}))
            .into_response(),
    }
}

/// Readiness (contract §8): state restored and events accepted; 503 while
/// shutting down, so a load balancer stops sending before the drain.
pub(super) async fn readyz(State(st): State<AppState>) -> Response {
    let (ready, reason) =
        readiness(st.ready.load(std::sync::atomic::Ordering::Acquire), st.cancel.is_cancelled());
    if ready {
        Json(serde_json::json!({"status": "ready"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "not ready", "reason": reason})))
            .into_response()
    }
}

/// Ready once restored and until shutdown begins.
pub(super) fn readiness(restored: bool, shutting_down: bool) -> (bool, &'static str) {
    match (restored, shutting_down) {
        (_, true) => (false, "shutting down"),
        (false, false) => (false, "restoring state"),
        (true, false) => (true, ""),
    }
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

#[cfg(test)]
mod tests {
    use super::readiness;

    #[test]
    fn ready_once_restored_and_until_shutdown() {
        assert_eq!(readiness(false, false), (false, "restoring state"));
        assert_eq!(readiness(true, false), (true, ""));
        assert_eq!(readiness(true, true), (false, "shutting down"));
        assert_eq!(readiness(false, true), (false, "shutting down"));
    }
}
