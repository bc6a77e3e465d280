//! The HTTP edge: every route floorwatch serves, on the one listen address.
//!
//! - `GET /`            the wallboard (static, embedded)
//! - `GET /healthz`     200 while the engine runs
//! - `GET /metrics`     Prometheus text exposition
//! - `GET /api/floor`   JSON snapshot of queues (with window figures), teams, agents
//! - `WS  /ingest`      canonical event ingest (contract §3), see [`crate::ingest`]
//! - `GET /api/alerts`  alerts as committed to the store (`?state=&kind=&team=&queue=&since=`)
//! - `POST /api/alerts/{id}/ack`  acknowledge (admin rule), answered after the commit
//! - `WS  /ws/alerts`   open alerts on connect, then every change
//!
//! Handlers hold handles (engine sender, snapshot receiver, metrics), never locks.

mod alerts;
mod api;
mod auth;
pub mod dto;
mod ingest;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::alerts::AlertsHandle;
use crate::config::IngestConfig;
use crate::floor::Snapshot;
use crate::floor::engine::EngineInput;
use crate::ingest::dedupe::SeqMarks;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub engine: mpsc::Sender<EngineInput>,
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub metrics: Arc<Metrics>,
    pub marks: Arc<SeqMarks>,
    pub ingest: Arc<IngestConfig>,
    /// Cancelled at shutdown: ingest sessions close with 1001.
    pub cancel: CancellationToken,
    /// Numbers connections that name no source (`conn-1`, `conn-2`, …).
    pub conn_seq: Arc<AtomicU64>,
    pub conn_limit: Arc<Semaphore>,
    pub alerts: AlertsHandle,
    /// Token for writes under `/api/`; `None`: loopback only.
    pub admin_token: Option<Arc<str>>,
}

/// Every route, in one place.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(crate::wallboard::index))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/api/floor", get(api::floor))
        .route("/ingest", get(ingest::upgrade))
        .route("/api/alerts", get(alerts::list))
        .route("/api/alerts/{id}/ack", post(alerts::ack))
        .route("/ws/alerts", get(alerts::push))
        .with_state(state)
}
