//! One receiver's task: takes pushes from its queue, renders them, POSTs with a timeout and
//! retries with exponential backoff; counts sent / retried / failed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::http::{self, HttpClient, Outcome};
use super::render;
use super::{Notice, NotifyMetrics, ReceiverConfig, Tuning};

pub(crate) struct Worker {
    pub(crate) rc: Arc<ReceiverConfig>,
    pub(crate) client: HttpClient,
    pub(crate) metrics: NotifyMetrics,
    pub(crate) max_retries: u32,
    pub(crate) timeout: Duration,
    pub(crate) tuning: Tuning,
    pub(crate) closing: CancellationToken,
    pub(crate) abort: CancellationToken,
}

impl Worker {
    pub(crate) async fn run(self, mut rx: mpsc::Receiver<Arc<Notice>>) {
        let mut closing = false;
        loop {
            let next = tokio::select! {
                biased;
                () = self.abort.cancelled() => break,
                () = self.closing.cancelled(), if !closing => {
                    // Refuse new pushes; what is queued is still delivered.
                    closing = true;
                    rx.close();
                    continue;
                }
                next = rx.recv() => next,
            };
            let Some(n) = next else { break };
            tokio::select! {
                biased;
                () = self.abort.cancelled() => break,
                () = self.deliver(&n) => {}
            }
        }
        tracing::debug!(receiver = %self.rc.name, "notify: receiver stopped");
    }

    async fn deliver(&self, n: &Notice) {
        let name = [self.rc.name.as_str()];
        let mut attempt = 0u32;
        loop {
            let req = render::render(&self.rc, n, chrono::Utc::now().timestamp_millis());
            let why = match http::post(&self.client, &self.rc.kind, &req.url, req.body, self.timeout).await {
                Outcome::Sent => {
                    self.metrics.sent.with_label_values(&name).inc();
                    tracing::debug!(receiver = %self.rc.name, alert = %n.id, state = %n.state, "notify: sent");
                    return;
                }
                Outcome::Retry(why) if attempt < self.max_retries => why,
                Outcome::Retry(why) | Outcome::GiveUp(why) => {
                    self.metrics.failed.with_label_values(&name).inc();
                    tracing::warn!(receiver = %self.rc.name, url = %render::mask_url(&self.rc.url),
                        alert = %n.id, attempts = attempt + 1, error = %why, "notify: push failed");
                    return;
                }
            };
            self.metrics.retried.with_label_values(&name).inc();
            let wait = backoff(self.tuning, attempt);
            tracing::info!(receiver = %self.rc.name, alert = %n.id, error = %why,
                retry_in_ms = wait.as_millis() as u64, "notify: push will be retried");
            attempt += 1;
            tokio::time::sleep(wait).await;
        }
    }
}

/// `base * 2^attempt`, capped.
pub(crate) fn backoff(t: Tuning, attempt: u32) -> Duration {
    t.backoff_base.saturating_mul(1u32 << attempt.min(16)).min(t.backoff_cap)
}
