//! The HTTP edge: every route floorwatch serves, on the one listen address.
//!
//! - `GET /`            the wallboard (static, embedded); `GET /lead` the team-lead
//!   console; `GET /assets/{file}` their scripts and styles
//! - `WS  /ws/floor`    the live floor for both: a snapshot, then deltas
//! - `GET /healthz`     200 while the engine runs
//! - `GET /metrics`     Prometheus text exposition
//! - `GET /api/floor`   JSON snapshot of queues (with window figures), teams, agents
//! - `WS  /ingest`      canonical event ingest (contract §3), see [`crate::ingest`]
//! - `GET /api/alerts`  alerts as committed to the store (`?state=&kind=&team=&queue=&since=`)
//! - `POST /api/alerts/{id}/ack`  acknowledge (admin rule), answered after the commit
//! - `WS  /ws/alerts`   open alerts on connect, then every change
//!
//! Reads of the floor (the pages, `/ws/floor`, `/api/floor`, `/api/alerts`,
//! `/ws/alerts`) are open to the peers `wallboard.read_access` admits.
//!
//! Handlers hold handles (engine sender, snapshot receiver, metrics), never locks.

mod alerts;
mod api;
mod auth;
pub mod dto;
mod floor_ws;
mod ingest;
mod read_access;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::alerts::AlertsHandle;
use crate::config::{IngestConfig, ReadAccess};
use crate::floor::Snapshot;
use crate::floor::engine::EngineInput;
use crate::ingest::dedupe::SeqMarks;
use crate::metrics::Metrics;

pub use floor_ws::FloorFeed;

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
    /// The wallboard's live stream (`/ws/floor`).
    pub floor_feed: Arc<FloorFeed>,
    /// Who may read the floor.
    pub read_access: ReadAccess,
}

/// Every route, in one place.
pub fn router(state: AppState) -> Router {
    let reads = Router::new()
        .route("/", get(crate::wallboard::wall))
        .route("/lead", get(crate::wallboard::lead))
        .route("/assets/{file}", get(crate::wallboard::asset))
        .route("/ws/floor", get(floor_ws::upgrade))
        .route("/api/floor", get(api::floor))
        .route("/api/alerts", get(alerts::list))
        .route("/ws/alerts", get(alerts::push))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), read_access::guard));
    Router::new()
        .merge(reads)
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/ingest", get(ingest::upgrade))
        .route("/api/alerts/{id}/ack", post(alerts::ack))
        .with_state(state)
}
