//! Where a request's token is, and the write rule applied to a request. The
//! rules themselves are [`access`]'s: with a token configured, `Authorization:
//! Bearer <token>` is required (401 otherwise); with none, only loopback peers are
//! accepted (403).

use std::net::SocketAddr;

use axum::http::{HeaderMap, StatusCode, header};

use super::{ApiError, AppState};
use crate::access::{self, Actor, Refused};

/// The token of `Authorization: Bearer <token>`.
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The token a vendor's request presents, wherever the vendor can put it: a
/// bearer token (relays, EventBridge API destinations), Firehose's
/// `X-Amz-Firehose-Access-Key`, or the password of HTTP Basic (Twilio sends the
/// credentials of a callback URL like `https://fw:TOKEN@host/…` that way).
pub(super) fn vendor_token(headers: &HeaderMap) -> Option<String> {
    use base64::Engine as _;
    if let Some(t) = bearer(headers) {
        return Some(t.to_owned());
    }
    if let Some(k) = headers.get("x-amz-firehose-access-key").and_then(|v| v.to_str().ok()) {
        return Some(k.trim().to_owned());
    }
    let basic = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(_, password)| password.to_owned())
}

/// The write rule (contract §2 and §9) as the JSON error to return when refused:
/// the actor of a write, or 401/403. A forwarded request counts as loopback only
/// through a trusted proxy ([`access::peer_is_loopback`]).
pub(super) fn write_actor(st: &AppState, headers: &HeaderMap, peer: SocketAddr) -> Result<Actor, ApiError> {
    let loopback = access::peer_is_loopback(peer.ip(), headers, &st.trusted_proxies);
    match access::writer(&st.access.current(), st.admin_token.as_deref(), bearer(headers), loopback) {
        Ok(a) => Ok(a),
        Err(Refused::Unauthorized) => {
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "requires Authorization: Bearer <token>"))
        }
        Err(Refused::NotLoopback) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "no admin token is configured: writes are accepted from loopback only (and not through an untrusted proxy)",
        )),
    }
}

/// Who a reader is: [`write_actor`]'s answer, or an anonymous viewer.
pub(super) fn read_actor(st: &AppState, headers: &HeaderMap, peer: SocketAddr) -> Actor {
    let loopback = access::peer_is_loopback(peer.ip(), headers, &st.trusted_proxies);
    access::reader(&st.access.current(), st.admin_token.as_deref(), bearer(headers), loopback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {t}")) {
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn vendors_may_present_the_token_where_they_can_put_it() {
        use base64::Engine as _;
        let mut h = HeaderMap::new();
        h.insert("x-amz-firehose-access-key", HeaderValue::from_static("s3cret"));
        assert_eq!(vendor_token(&h).as_deref(), Some("s3cret"));
        let basic = base64::engine::general_purpose::STANDARD.encode("floorwatch:s3cret");
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&format!("Basic {basic}")) {
            h.insert(header::AUTHORIZATION, v);
        }
        assert_eq!(vendor_token(&h).as_deref(), Some("s3cret"));
        assert_eq!(vendor_token(&bearer("s3cret")).as_deref(), Some("s3cret"));
        assert_eq!(vendor_token(&HeaderMap::new()), None);
        // The plain /ingest rule takes the bearer token only.
        assert_eq!(super::bearer(&h), None);
    }
}
