//! One receiver's task (webhooks and robots): takes pushes from its queue, renders them, POSTs
//! with a timeout and retries with jittered exponential backoff (or the receiver's own
//! `Retry-After`); counts sent / retried / failed.
//!
//! Over its rate limit (the robots' documented limits by default) a receiver does not lose
//! pushes: while it waits for its next slot it gathers what arrives, and sends the lot as one
//! digest message, counted in `floorwatch_notify_batched_total`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::http::{self, HttpClient, Outcome};
use super::limit::Limiter;
use super::render::{self, Ctx, Rendered};
use super::{Notice, NotifyMetrics, Push, ReceiverConfig, Tuning};

/// At most this many notices wait for one digest; the rest stay in the queue
/// (which, once full, drops and counts).
const MAX_DIGEST: usize = 500;

pub(crate) struct Worker {
    pub(crate) rc: Arc<ReceiverConfig>,
    pub(crate) ctx: Ctx,
    pub(crate) client: HttpClient,
    pub(crate) metrics: NotifyMetrics,
    pub(crate) max_retries: u32,
    pub(crate) timeout: Duration,
    pub(crate) tuning: Tuning,
    pub(crate) closing: CancellationToken,
    pub(crate) abort: CancellationToken,
}

impl Worker {
    pub(crate) async fn run(self, mut rx: mpsc::Receiver<Push>) {
        let mut closing = false;
        let mut limiter = self.rc.per_minute.map(|n| Limiter::new(n, self.tuning.rate_window));
        let mut pending: Vec<Arc<Notice>> = Vec::new();
        let mut open = true;
        loop {
            if pending.is_empty() {
                if !open {
                    break;
                }
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
                match next {
                    Some(Push::One(n)) => pending.push(n),
                    // Only stateful sinks (Alertmanager) take restored alerts.
                    Some(Push::Restore(_)) => continue,
                    None => break,
                }
            }
            if let Some(limiter) = &mut limiter {
                let slot = limiter.next_slot(Instant::now());
                // Over the limit: gather what comes until the slot frees.
                while Instant::now() < slot {
                    tokio::select! {
                        biased;
                        () = self.abort.cancelled() => return self.stopped(),
                        () = self.closing.cancelled(), if !closing => {
                            closing = true;
                            rx.close();
                        }
                        () = tokio::time::sleep_until(slot) => {}
                        next = rx.recv(), if open && pending.len() < MAX_DIGEST => match next {
                            Some(Push::One(n)) => pending.push(n),
                            Some(Push::Restore(_)) => {}
                            None => open = false,
                        },
                    }
                }
                limiter.record(Instant::now());
            }
            let batch = std::mem::take(&mut pending);
            tokio::select! {
                biased;
                () = self.abort.cancelled() => break,
                () = self.deliver(&batch) => {}
            }
        }
        self.stopped();
    }

    fn stopped(&self) {
        tracing::debug!(receiver = %self.rc.name, "notify: receiver stopped");
    }

    async fn deliver(&self, batch: &[Arc<Notice>]) {
        let Some(first) = batch.first() else { return };
        let name = [self.rc.name.as_str()];
        if batch.len() > 1 {
            self.metrics.batched.with_label_values(&name).inc_by(batch.len() as u64);
            tracing::info!(receiver = %self.rc.name, notices = batch.len(),
                "notify: over the rate limit, sending a digest");
        }
        let render = |now_ms| -> Rendered {
            if batch.len() == 1 {
                render::render(&self.rc, &self.ctx, first, now_ms)
            } else {
                render::render_digest(&self.rc, &self.ctx, batch, now_ms)
            }
        };
        let sent = send_with_retries(
            &Attempts {
                rc: &self.rc,
                client: &self.client,
                metrics: &self.metrics,
                max_retries: self.max_retries,
                timeout: self.timeout,
                tuning: self.tuning,
            },
            &first.id,
            render,
        )
        .await;
        if sent {
            tracing::debug!(receiver = %self.rc.name, alert = %first.id, state = %first.state,
                notices = batch.len(), "notify: sent");
        }
    }
}

/// What one delivery with retries needs.
pub(crate) struct Attempts<'a> {
    pub(crate) rc: &'a ReceiverConfig,
    pub(crate) client: &'a HttpClient,
    pub(crate) metrics: &'a NotifyMetrics,
    pub(crate) max_retries: u32,
    pub(crate) timeout: Duration,
    pub(crate) tuning: Tuning,
}

/// POSTs what `render` makes (re-rendered per attempt, so a robot's signature
/// is fresh) until it is sent, refused, or out of retries; counts each outcome.
/// `true` when sent.
pub(crate) async fn send_with_retries(
    a: &Attempts<'_>,
    alert: &str,
    render: impl Fn(i64) -> Rendered,
) -> bool {
    let name = [a.rc.name.as_str()];
    let mut attempt = 0u32;
    loop {
        let req = render(chrono::Utc::now().timestamp_millis());
        let (why, after) = match http::post(a.client, &a.rc.kind, &req.url, req.body, a.timeout).await {
            Outcome::Sent => {
                a.metrics.sent.with_label_values(&name).inc();
                return true;
            }
            Outcome::Retry { why, after } if attempt < a.max_retries => (why, after),
            Outcome::Retry { why, .. } | Outcome::GiveUp(why) => {
                a.metrics.failed.with_label_values(&name).inc();
                tracing::warn!(receiver = %a.rc.name, url = %render::mask_url(&req.url),
                    alert, attempts = attempt + 1, error = %why, "notify: push failed");
                return false;
            }
        };
        a.metrics.retried.with_label_values(&name).inc();
        // The receiver's own word wins over our guess; jitter keeps many
        // daemons (or receivers) from retrying in step.
        let wait = after.unwrap_or_else(|| jittered(backoff(a.tuning, attempt), rand::random::<f64>()));
        tracing::info!(receiver = %a.rc.name, alert, error = %why,
            retry_in_ms = wait.as_millis() as u64, retry_after = after.is_some(), "notify: push will be retried");
        attempt += 1;
        tokio::time::sleep(wait).await;
    }
}

/// `base * 2^attempt`, capped.
pub(crate) fn backoff(t: Tuning, attempt: u32) -> Duration {
    t.backoff_base.saturating_mul(1u32 << attempt.min(16)).min(t.backoff_cap)
}

/// "Equal jitter": half the backoff, plus a random part of the other half
/// (`r` in 0..1), so retries spread out but never come sooner than half.
pub(crate) fn jittered(d: Duration, r: f64) -> Duration {
    let half = d / 2;
    half + half.mul_f64(r.clamp(0.0, 1.0))
}
