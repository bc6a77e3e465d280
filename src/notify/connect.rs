//! How a receiver's requests reach it: TLS with the public roots plus the
//! receiver's own CA file, and an HTTPS proxy from the environment (a CONNECT
//! tunnel, hyper-util's), unless `NO_PROXY` names the host.
//!
//! Plain `http://` receivers always connect direct: sending through a proxy in
//! the clear would need absolute-form requests, and plain-HTTP receivers are the
//! local ones (an Alertmanager beside the daemon, an intranet webhook).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use tokio::net::TcpStream;

use super::config::ProxyConfig;

/// Why a receiver's client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
    #[error("proxy URL {0:?} is not valid")]
    Proxy(String),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The TCP connector under TLS: direct, or through the proxy's tunnel.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    direct: HttpConnector,
    proxy: Option<Arc<Matcher>>,
}

impl ProxyConnector {
    pub(crate) fn new(proxy: &ProxyConfig) -> Result<ProxyConnector, ConnectError> {
        let mut direct = HttpConnector::new();
        // TLS is the layer above; this one must also dial `https://` URIs.
        direct.enforce_http(false);
        direct.set_connect_timeout(Some(Duration::from_secs(10)));
        direct.set_nodelay(true);
        let proxy = match &proxy.https {
            None => None,
            Some(url) => {
                url.parse::<Uri>().map_err(|_| ConnectError::Proxy(url.clone()))?;
                let mut b = Matcher::builder().https(url.clone());
                if let Some(no) = &proxy.no {
                    b = b.no(no.clone());
                }
                Some(Arc::new(b.build()))
            }
        };
        Ok(ProxyConnector { direct, proxy })
    }

    /// Whether requests to `uri` go through the proxy (for logs and tests).
    pub(crate) fn proxied(&self, uri: &Uri) -> bool {
        self.proxy.as_ref().is_some_and(|m| m.intercept(uri).is_some())
    }
}

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = self.proxy.as_ref().and_then(|m| m.intercept(&dst));
        match intercept {
            None => {
                let fut = self.direct.call(dst);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Some(i) => {
                let mut tunnel = Tunnel::new(i.uri().clone(), self.direct.clone());
                if let Some(auth) = i.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move { tunnel.call(dst).await.map_err(Into::into) })
            }
        }
    }
}

/// TLS settings: the Mozilla roots, plus every certificate in `ca_file`.
pub(crate) fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, ConnectError> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = ca_file {
        let bad = |reason: String| ConnectError::CaFile { path: path.display().to_string(), reason };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("holds no PEM certificate".into()));
        }
        for c in certs {
            roots.add(c).map_err(|e| bad(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
