//! The HTTP edge: every route floorwatch serves, on the one listen address.
//!
//! - `GET /`            the wallboard (static, embedded); `GET /lead` the team-lead
//!   console; `GET /assets/{file}` their scripts and styles
//! - `WS  /ws/floor`    the live floor for both: a snapshot, then deltas
//! - `GET /healthz`     200 while the engine runs and the store commits a write (else 503
//!   with a JSON reason)
//! - `GET /readyz`      200 once state is restored and events are accepted; 503 while
//!   shutting down
//! - `GET /metrics`     Prometheus text exposition
//! - `GET /api/floor`   JSON snapshot of queues (with window figures), teams, agents
//! - `WS  /ingest`      canonical event ingest (contract §3), see [`crate::ingest`]
//! - `WS|POST /ingest/{format}`  a vendor's own format (`amazon-connect`,
//!   `genesys-cloud`, `twilio`; contract §7), see [`vendor`](self::vendor)
//! - `GET /api/alerts`  alerts as committed to the store (`?state=&kind=&team=&queue=&since=`)
//! - `GET /api/alerts/{id}`  one alert (Alertmanager's `generatorURL` points here)
//! - `POST /api/alerts/{id}/ack`  acknowledge (admin rule), answered after the commit
//! - `WS  /ws/alerts`   open alerts on connect, then every change
//! - `/api/incidents`, `/api/callbacks`, `/api/faults`, `/api/audit`, `WS /ws/agents`:
//!   the incident playbook (see [`incidents`](self::incidents) for each route)
//!
//! - `/api/roster`, `/api/seatmap`, `/api/handover`, `/api/patrols`, `/api/overruns`,
//!   `/api/advice`: the duty team's shift (see [`shift`](self::shift) for each route)
//!
//! - `/api/calls`, `/api/qa/…` (rules, samples, quotas, reviews, appeals, the
//!   monitoring rotation, the monthly analysis), `/api/reports`: quality
//!   assurance (see [`qa`](self::qa) for each route and its JSON)
//!
//! - `GET /api/whoami`  who the caller's token is and what its role may do
//!   (see [`access`] for the roles and the token table)
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
mod qa;
mod read_access;
mod shift;
mod vendor;

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
    /// `[limits]`: field length at decode, each connection's event rate.
    pub limits: crate::ingest::LimitsConfig,
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
    /// Set once the daemon has restored its state and accepts events (`/readyz`).
    pub ready: Arc<std::sync::atomic::AtomicBool>,
    /// Each vendor-format source's mapping and memory (`/ingest/{format}`).
    pub vendors: Arc<crate::ingest::vendor::VendorSources>,
    /// The daemon's clock: the time vendor messages without one are taken at,
    /// and Firehose acknowledgements carry.
    pub clock: crate::clock::Clock,
    /// People's and bridges' tokens in force (swapped on SIGHUP).
    pub access: crate::access::AccessHandle,
    /// Peers whose forwarding headers are believed (`server.trusted_proxies`).
    pub trusted_proxies: Arc<[crate::access::Cidr]>,
    /// The duty team's shift: its settings, the patrol watch, the traffic profiles.
    pub shift: crate::shift::ShiftHandle,
    /// `[qa]`: the score sheet reviews are scored on.
    pub qa: Arc<crate::qa::QaConfig>,
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

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn message(&self) -> &str {
        &self.msg
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
        .route("/duty", get(crate::wallboard::duty))
        .route("/qa", get(crate::wallboard::qa))
        .route("/assets/{file}", get(crate::wallboard::asset))
        .route("/ws/floor", get(floor_ws::upgrade))
        .route("/api/floor", get(api::floor))
        .route("/api/alerts", get(alerts::list))
        .route("/api/alerts/{id}", get(alerts::get))
        // The seat map shows what the wall does (names, states) by seat: the wall's
        // seats view reads it, so it follows the floor's read rule.
        .route("/api/seatmap", get(shift::seatmap))
        .route("/ws/alerts", get(alerts::push))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), read_access::guard));
    // The playbook's reads (incidents, call-backs, faults): the floor's read rule,
    // plus a token of any role once people's tokens are configured. The layer goes
    // on each GET alone; the writes beside it have their own rule.
    let people = axum::middleware::from_fn_with_state(state.clone(), read_access::people);
    Router::new()
        .merge(reads)
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route("/ingest", get(ingest::upgrade))
        .route("/ingest/{format}", get(vendor::upgrade).post(vendor::post))
        .route("/api/alerts/{id}/ack", post(alerts::ack))
        .route("/api/whoami", get(admin::whoami))
        .route("/api/incidents", get(incidents::list).route_layer(people.clone()).post(incidents::open))
        .route("/api/incidents/{id}", get(incidents::get).route_layer(people.clone()))
        .route("/api/incidents/{id}/script", post(incidents::script).put(incidents::script))
        .route("/api/incidents/{id}/close", post(incidents::close))
        .route(
            "/api/callbacks",
            get(incidents::list_callbacks).route_layer(people.clone()).post(incidents::add_callback),
        )
        .route("/api/callbacks/{id}", axum::routing::patch(incidents::update_callback))
        .route("/api/faults", get(incidents::list_faults).route_layer(people.clone()))
        .route(
            "/api/faults/{id}",
            get(incidents::get_fault).route_layer(people.clone()).patch(incidents::annotate_fault),
        )
        .route("/api/audit", get(incidents::audit))
        .route("/ws/agents", get(incidents::agents_ws))
        .route("/api/roster", get(shift::get_roster).route_layer(people.clone()).put(shift::put_roster))
        .route("/api/handover", get(shift::get_handover).route_layer(people.clone()))
        .route("/api/handover/absences", post(shift::set_absence))
        .route("/api/handover/confirm", post(shift::confirm))
        .route("/api/handover/countersign", post(shift::countersign))
        .route("/api/patrols", get(shift::list_patrols).route_layer(people.clone()).post(shift::add_patrol))
        .route("/api/patrols/teams", get(shift::patrol_teams).route_layer(people.clone()))
        .route("/api/overruns", get(shift::list_overruns).route_layer(people.clone()))
        .route("/api/overruns/totals", get(shift::overrun_totals).route_layer(people.clone()))
        .route("/api/overruns/{id}", axum::routing::patch(shift::review_overrun))
        .route("/api/advice", get(shift::advice).route_layer(people.clone()))
        .route("/api/calls", get(qa::calls).route_layer(people.clone()))
        .route("/api/qa/rules", get(qa::list_rules).route_layer(people.clone()).post(qa::register))
        .route("/api/qa/rules/{id}", get(qa::get_rule).route_layer(people.clone()))
        .route("/api/qa/rules/{id}/sample", get(qa::rule_sample).route_layer(people.clone()))
        .route("/api/qa/rules/{id}/quotas", get(qa::quotas).route_layer(people.clone()))
        .route("/api/qa/reviews", get(qa::list_reviews).route_layer(people.clone()).post(qa::review))
        .route("/api/qa/reviews/{id}/appeal", post(qa::appeal))
        .route("/api/qa/appeals", get(qa::list_appeals).route_layer(people.clone()))
        .route("/api/qa/sheet", get(qa::sheet).route_layer(people.clone()))
        .route("/api/qa/appeals/{id}/accept", post(qa::accept))
        .route("/api/qa/appeals/{id}/reject", post(qa::reject))
        .route("/api/qa/appeals/{id}/decide", post(qa::decide))
        .route("/api/qa/rotation", get(qa::rotation::get).route_layer(people.clone()))
        .route("/api/qa/rotation/{team}/sessions", post(qa::rotation::add_session))
        .route("/api/qa/analysis", get(qa::analysis::get).route_layer(people.clone()))
        .route("/api/qa/analysis/{month}/approve", post(qa::analysis::approve))
        .route("/api/reports", get(qa::reports).route_layer(people.clone()))
        .layer(compression())
        .with_state(state)
}

/// gzip for large answers (`/api/floor` and `/metrics` run to megabytes on a big
/// floor), only when the client sends `Accept-Encoding: gzip`. Small answers
/// are not worth it, images are compressed already, and a WebSocket upgrade
/// (101, no body) must pass untouched.
fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate as _, SizeAbove};
    let not_upgrade =
        |status: StatusCode,
         _: axum::http::Version,
         _: &axum::http::HeaderMap,
         _: &axum::http::Extensions| status != StatusCode::SWITCHING_PROTOCOLS;
    tower_http::compression::CompressionLayer::new()
        .gzip(true)
        .compress_when(SizeAbove::new(1024).and(NotForContentType::IMAGES).and(not_upgrade))
}
