//! Test helpers: a tiny local HTTP receiver (axum on `127.0.0.1:0`) that records requests and
//! answers from a script, a receiver that accepts connections and never answers, and a bounded
//! polling wait.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::Value;

/// One request the receiver saw.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Recorded {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub(crate) fn query_param(&self, key: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        q.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v.to_owned()))
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    /// Status, body, and a `Retry-After` value to send with it.
    script: Mutex<VecDeque<(u16, String, Option<String>)>>,
    default: (u16, String),
}

/// A recording receiver.
#[derive(Clone)]
pub(crate) struct TestServer {
    pub(crate) url: String,
    shared: Arc<Shared>,
}

impl TestServer {
    /// Starts a receiver answering `200 default_body` unless scripted otherwise.
    pub(crate) async fn start(default_body: &str) -> TestServer {
        let shared = Arc::new(Shared { default: (200, default_body.to_owned()), ..Shared::default() });
        let app = axum::Router::new().fallback(record).with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestServer { url: format!("http://{addr}"), shared }
    }

    /// Next answers, in order, before falling back to the default.
    pub(crate) fn script(&self, answers: &[(u16, &str)]) {
        let mut s = self.shared.script.lock().unwrap();
        s.extend(answers.iter().map(|(c, b)| (*c, (*b).to_owned(), None)));
    }

    /// Next answer, with a `Retry-After` header.
    pub(crate) fn script_retry_after(&self, code: u16, retry_after: &str) {
        self.shared.script.lock().unwrap().push_back((code, String::new(), Some(retry_after.to_owned())));
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub(crate) fn count(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let rec = Recorded {
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body: body.to_vec(),
    };
    shared.requests.lock().unwrap().push(rec);
    let next = shared.script.lock().unwrap().pop_front();
    let (code, body, after) = next.unwrap_or_else(|| (shared.default.0, shared.default.1.clone(), None));
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    if let Some(a) = after {
        headers.insert("retry-after", a.parse().unwrap());
    }
    (StatusCode::from_u16(code).unwrap(), headers, body)
}

/// A receiver that accepts connections and never answers; returns its URL.
pub(crate) async fn hanging() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    format!("http://{addr}")
}

/// Polls `cond` every 5 ms for at most 10 s; panics with `what` if it never holds.
pub(crate) async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
