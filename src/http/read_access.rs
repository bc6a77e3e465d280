//! Who may read the floor (`wallboard.read_access`): the wallboard pages and every
//! endpoint they read. Writes are not decided here: they follow the admin-token
//! rule in [`super::auth`] whatever this allows.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::wallboard::ReadAccess;

/// Middleware on the read routes: 403 for a peer the config does not admit.
pub(super) async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    // Behind a proxy the peer is the proxy: the client is the one a trusted proxy
    // names, and unknown (`None`) behind one we were not told of.
    let client = peer.and_then(|ip| crate::access::client_ip(ip, req.headers(), &st.trusted_proxies));
    // Without a known client address only an open floor is readable.
    let allowed = match client {
        Some(ip) => admits(st.read_access, ip),
        None => st.read_access == ReadAccess::Any,
    };
    if allowed {
        next.run(req).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "reading the floor is not allowed from this address (wallboard.read_access)\n",
        )
            .into_response()
    }
}

/// Middleware on the playbook's reads: [`guard`]'s rule, then, when people's
/// tokens are configured, a valid token of any role (or the admin token): 401.
pub(super) async fn people(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let tokens = st.access.current();
    if tokens.has_people() {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        let loopback =
            peer.is_some_and(|p| crate::access::peer_is_loopback(p.ip(), req.headers(), &st.trusted_proxies));
        let bearer = super::auth::bearer(req.headers());
        if crate::access::writer(&tokens, st.admin_token.as_deref(), bearer, loopback).is_err() {
            return super::ApiError::new(
                StatusCode::UNAUTHORIZED,
                "reading the playbook requires Authorization: Bearer <token> of any role",
            )
            .into_response();
        }
    }
    guard(State(st), req, next).await
}

pub(super) fn admits(access: ReadAccess, ip: IpAddr) -> bool {
    // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
    let ip = ip.to_canonical();
    match access {
        ReadAccess::Any => true,
        ReadAccess::Loopback => ip.is_loopback(),
        ReadAccess::Lan => ip.is_loopback() || is_private(ip),
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        // fc00::/7 unique-local, fe80::/10 link-local.
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn each_setting_admits_what_it_says() {
        let table = [
            // peer, loopback, lan, any
            ("127.0.0.1", true, true, true),
            ("::1", true, true, true),
            ("::ffff:127.0.0.1", true, true, true),
            ("10.1.2.3", false, true, true),
            ("172.16.0.9", false, true, true),
            ("172.32.0.9", false, false, true),
            ("192.168.1.20", false, true, true),
            ("::ffff:192.168.1.20", false, true, true),
            ("169.254.3.4", false, true, true),
            ("fd12:3456::1", false, true, true),
            ("fe80::1", false, true, true),
            ("8.8.8.8", false, false, true),
            ("2001:db8::1", false, false, true),
        ];
        for (peer, loopback, lan, any) in table {
            assert_eq!(admits(ReadAccess::Loopback, ip(peer)), loopback, "loopback, {peer}");
            assert_eq!(admits(ReadAccess::Lan, ip(peer)), lan, "lan, {peer}");
            assert_eq!(admits(ReadAccess::Any, ip(peer)), any, "any, {peer}");
        }
    }
}
