//! The wallboard (`/`), the team-lead console (`/lead`), the duty page (`/duty`)
//! and the QA console (`/qa`): plain HTML, CSS and JavaScript with no build step,
//! compiled into the binary so the daemon is one file to deploy and needs nothing
//! from the internet at run time.
//!
//! Both pages read `WS /ws/floor` (the floor) and `WS /ws/alerts` (alerts); the
//! console acknowledges through `POST /api/alerts/{id}/ack`. Everything that
//! comes from outside (names, reasons, messages) is put on the page as text, never
//! as HTML, and the Content-Security-Policy below allows no inline script, so a
//! hostile name cannot run even if a future change slipped.

pub mod config;

pub use config::{ReadAccess, WallboardConfig};

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Scripts only from the daemon itself, no inline script or style attribute,
/// connections only back to the daemon (HTTP and its WebSockets).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Every embedded file: name under `/assets/`, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    ("common.js", "text/javascript; charset=utf-8", include_str!("common.js")),
    ("wall.js", "text/javascript; charset=utf-8", include_str!("wall.js")),
    ("lead.js", "text/javascript; charset=utf-8", include_str!("lead.js")),
    ("incidents.js", "text/javascript; charset=utf-8", include_str!("incidents.js")),
    ("shift.js", "text/javascript; charset=utf-8", include_str!("shift.js")),
    ("patrol.js", "text/javascript; charset=utf-8", include_str!("patrol.js")),
    ("shift.css", "text/css; charset=utf-8", include_str!("shift.css")),
    ("qa.js", "text/javascript; charset=utf-8", include_str!("qa.js")),
    ("qa.css", "text/css; charset=utf-8", include_str!("qa.css")),
    ("style.css", "text/css; charset=utf-8", include_str!("style.css")),
    ("icon.svg", "image/svg+xml", include_str!("icon.svg")),
];

fn page(html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            // A new daemon version is picked up on the next reload.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

/// `GET /`: the wall, for a TV read from across the room.
pub async fn wall() -> Response {
    page(include_str!("wall.html"))
}

/// `GET /lead`: the team-lead console, for a tablet on the floor.
pub async fn lead() -> Response {
    page(include_str!("lead.html"))
}

/// `GET /duty`: the duty supervisor's shift — handover, patrols, overrun review,
/// idle-time advice and the seat map.
pub async fn duty() -> Response {
    page(include_str!("duty.html"))
}

/// `GET /qa`: the quality-assurance console — sampling rules and their
/// samples (re-run to verify), quotas, reviews and appeals.
pub async fn qa() -> Response {
    page(include_str!("qa.html"))
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}
