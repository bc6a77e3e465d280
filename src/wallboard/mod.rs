//! Static UI assets, compiled into the binary so the daemon is one file to deploy.

use axum::response::Html;

pub async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}
