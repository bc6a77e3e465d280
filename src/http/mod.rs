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
//! - `/api/incidents`, `/api/callbacks`, `/api/faults`, `/api/audit`, `WS /ws/agents`:
//!   the incident playbook (see [`incidents`](self::incidents) for each route)
//!
//! Reads of the floor (the pages, `/ws/floor`, `/api/floor`, `/api/alerts`,
//! `/ws/alerts`) are open to the peers `wallboard.read_access` admits.
//!
//! Handlers hold handles (the ingest intake, snapshot receiver, metrics), never locks.

mod admin;
mod alerts;
mod api;
mod auth;
pub mod dto;
mod floor_ws;
mod incidents;
mod ingest;
mod read_access;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::alerts::AlertsHandle;
use crate::floor::Snapshot;
use crate::incidents::IncidentsHandle;
use crate::ingest::{IngestConfig, Intake};
use crate::metrics::Metrics;
use crate::wallboard::ReadAccess;

pub use floor_ws::FloorFeed;

#[derive(Clone)]
pub struct AppState {
    /// Every ingest source's hand-off to the engine (sender, `seq` marks, counters).
    pub intake: Intake,
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub metrics: Arc<Metrics>,
    pub ingest: Arc<IngestConfig>,
    /// Cancelled at shutdown: ingest sessions close with 1001.
    pub cancel: CancellationToken,
    pub conn_limit: Arc<Semaphore>,
    pub alerts: AlertsHandle,
    pub incidents: IncidentsHandle,
    /// Token for writes under `/api/`; `None`: loopback only.
    pub admin_token: Option<Arc<str>>,
    /// The wallboard's live stream (`/ws/floor`).
    pub floor_feed: Arc<FloorFeed>,
    /// Who may read the floor.
    pub read_access: ReadAccess,
    /// The floor's time zone, for times in CSV exports (spreadsheets show them as is).
    pub timezone: chrono_tz::Tz,
    /// `true` once the daemon has restored the floor from its checkpoint and
    /// takes events (for `/readyz`).
    pub ready: watch::Receiver<bool>,
}

/// `{"error": msg}` with `status`: every API error has this shape.
pub(crate) fn json_error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

/// An API error as a value, so handlers can use `?`: `{"error": msg}` plus the
/// `field` at fault when a body or query was invalid.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    msg: String,
    field: Option<String>,
    /// 401: say which scheme is wanted (RFC 9110 requires the header).
    bearer: bool,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, msg: impl Into<String>) -> ApiError {
        ApiError { status, msg: msg.into(), field: None, bearer: status == StatusCode::UNAUTHORIZED }
    }

    pub(crate) fn field(status: StatusCode, field: &str, msg: impl Into<String>) -> ApiError {
        ApiError { field: Some(field.to_owned()), ..ApiError::new(status, msg) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.field {
            Some(f) => serde_json::json!({ "error": self.msg, "field": f }),
            None => serde_json::json!({ "error": self.msg }),
        };
        let mut r = (self.status, Json(body)).into_response();
        if self.bearer {
            r.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        r
    }
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
        .route("/api/incidents", get(incidents::list).post(incidents::open))
        .route("/api/incidents/{id}", get(incidents::get))
        .route("/api/incidents/{id}/script", post(incidents::script).put(incidents::script))
        .route("/api/incidents/{id}/close", post(incidents::close))
        .route("/api/callbacks", get(incidents::list_callbacks).post(incidents::add_callback))
        .route("/api/callbacks/{id}", axum::routing::patch(incidents::update_callback))
        .route("/api/faults", get(incidents::list_faults))
        .route("/api/faults/{id}", get(incidents::get_fault).patch(incidents::annotate_fault))
        .route("/api/audit", get(incidents::audit))
        .route("/ws/agents", get(incidents::agents_ws))
        .with_state(state)
}
