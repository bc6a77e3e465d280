//! Who may do what. One rule for the ingest handshake and for writes under
//! `/api/` (contract §1–2): with a token configured, `Authorization: Bearer <token>`
//! is required (401 otherwise); with none, only loopback peers are accepted (403).

use std::net::SocketAddr;

use axum::http::{HeaderMap, StatusCode, header};

use super::ApiError;

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    Unauthorized,
    NotLoopback,
}

/// Decides whether a handshake may proceed.
pub(super) fn authorize(token: Option<&str>, headers: &HeaderMap, peer: SocketAddr) -> Result<(), Refusal> {
    check(token, bearer(headers), peer)
}

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

/// The rule itself, for a token already taken from the request.
pub(super) fn check(token: Option<&str>, given: Option<&str>, peer: SocketAddr) -> Result<(), Refusal> {
    match token {
        Some(expected) => match given {
            Some(g) if constant_time_eq(g.as_bytes(), expected.as_bytes()) => Ok(()),
            _ => Err(Refusal::Unauthorized),
        },
        None if peer.ip().is_loopback() => Ok(()),
        None => Err(Refusal::NotLoopback),
    }
}

/// The admin rule for writes under `/api/` (and reads that show what only an
/// admin may see), as the JSON error response to return when refused.
pub(super) fn admin_only(token: Option<&str>, headers: &HeaderMap, peer: SocketAddr) -> Result<(), ApiError> {
    match authorize(token, headers, peer) {
        Ok(()) => Ok(()),
        Err(Refusal::Unauthorized) => {
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "requires Authorization: Bearer <admin token>"))
        }
        Err(Refusal::NotLoopback) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "no admin token is configured: writes are accepted from loopback only",
        )),
    }
}

/// Compares without an early exit, so response timing does not reveal how much of
/// a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn peer(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    fn bearer(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {t}")) {
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn no_token_means_loopback_only() {
        assert_eq!(authorize(None, &HeaderMap::new(), peer("127.0.0.1:5000")), Ok(()));
        assert_eq!(authorize(None, &HeaderMap::new(), peer("[::1]:5000")), Ok(()));
        assert_eq!(authorize(None, &HeaderMap::new(), peer("10.1.2.3:5000")), Err(Refusal::NotLoopback));
        // A token the server does not expect does not open the door either.
        assert_eq!(authorize(None, &bearer("x"), peer("192.168.1.9:5000")), Err(Refusal::NotLoopback));
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
        assert_eq!(authorize(Some("s3cret"), &h, peer("127.0.0.1:1")), Err(Refusal::Unauthorized));
    }

    #[test]
    fn token_is_required_from_everyone_when_set() {
        let t = Some("s3cret");
        assert_eq!(authorize(t, &bearer("s3cret"), peer("10.1.2.3:5000")), Ok(()));
        assert_eq!(authorize(t, &bearer("s3cret"), peer("127.0.0.1:5000")), Ok(()));
        assert_eq!(authorize(t, &bearer("wrong"), peer("127.0.0.1:5000")), Err(Refusal::Unauthorized));
        assert_eq!(authorize(t, &bearer("s3cre"), peer("127.0.0.1:5000")), Err(Refusal::Unauthorized));
        assert_eq!(authorize(t, &HeaderMap::new(), peer("127.0.0.1:5000")), Err(Refusal::Unauthorized));
    }
}
