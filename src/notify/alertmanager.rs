//! The Alertmanager receiver, per its client protocol: every alert change is sent at once to
//! every configured Alertmanager (a cluster's members each get every alert, as Prometheus
//! does), and every active alert is sent again every `resend_secs`, its `endsAt` a few periods
//! ahead, so Alertmanager never resolves an alert floorwatch still has firing. A resolution is
//! sent with `endsAt` = the resolve time, and the alert leaves the active set.
//!
//! Labels never change over an alert's life (see [`render::alertmanager`]): an escalation or a
//! severity change updates the same Alertmanager alert. Escalations reach this receiver
//! whatever its `escalations` says: they are the same alert, and its resolution must follow.
//! At start the alerts restored from the store arrive as one [`Push::Restore`], so a restart
//! does not let their Alertmanager twins lapse.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::config::ENDS_AT_PERIODS;
use super::http::{self, HttpClient, Outcome};
use super::render::{self, Ctx, Rendered};
use super::worker::{Attempts, send_with_retries};
use super::{Notice, NotifyMetrics, Push, ReceiverConfig, Tuning};
use crate::vocab::AlertState;

/// Alerts per POST when re-sending them all (a floor-wide burst can hold thousands).
const RESEND_CHUNK: usize = 500;

pub(crate) struct AmWorker {
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

impl AmWorker {
    fn period(&self) -> Duration {
        self.tuning.resend.unwrap_or(Duration::from_secs(self.rc.resend_secs.max(1)))
    }

    fn ends_in_ms(&self) -> i64 {
        i64::try_from((self.period() * ENDS_AT_PERIODS).as_millis()).unwrap_or(i64::MAX / 2)
    }

    pub(crate) async fn run(self, mut rx: mpsc::Receiver<Push>) {
        let mut active: BTreeMap<String, Arc<Notice>> = BTreeMap::new();
        let period = self.period();
        // The first tick one period from now: the changes themselves go at once.
        let mut resend = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        resend.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut closing = false;
        loop {
            tokio::select! {
                biased;
                () = self.abort.cancelled() => break,
                () = self.closing.cancelled(), if !closing => {
                    closing = true;
                    rx.close();
                }
                _ = resend.tick() => {
                    let all: Vec<Arc<Notice>> = active.values().cloned().collect();
                    tokio::select! {
                        biased;
                        () = self.abort.cancelled() => break,
                        () = self.resend(&all) => {}
                    }
                }
                next = rx.recv() => {
                    let batch = match next {
                        None => break,
                        Some(Push::One(n)) => vec![n],
                        Some(Push::Restore(ns)) => ns.iter().cloned().map(Arc::new).collect(),
                    };
                    for n in &batch {
                        if n.state == AlertState::Resolved {
                            active.remove(&n.id);
                        } else {
                            active.insert(n.id.clone(), Arc::clone(n));
                        }
                    }
                    tokio::select! {
                        biased;
                        () = self.abort.cancelled() => break,
                        () = self.send_now(&batch) => {}
                    }
                }
            }
        }
        tracing::debug!(receiver = %self.rc.name, active = active.len(), "notify: alertmanager receiver stopped");
    }

    fn body(&self, ns: &[Arc<Notice>], now_ms: i64) -> Vec<u8> {
        let alerts: Vec<Value> = ns
            .iter()
            .map(|n| render::alertmanager(self.rc.language, &self.ctx, n, now_ms, self.ends_in_ms()))
            .collect();
        serde_json::to_vec(&Value::Array(alerts)).unwrap_or_default()
    }

    /// A change: to every Alertmanager at once, each with its own retries.
    async fn send_now(&self, ns: &[Arc<Notice>]) {
        let Some(first) = ns.first() else { return };
        let sends = self.rc.urls.iter().map(|url| {
            let rc = ReceiverConfig { url: url.clone(), ..ReceiverConfig::clone(&self.rc) };
            async move {
                let a = Attempts {
                    rc: &rc,
                    client: &self.client,
                    metrics: &self.metrics,
                    max_retries: self.max_retries,
                    timeout: self.timeout,
                    tuning: self.tuning,
                };
                for chunk in ns.chunks(RESEND_CHUNK) {
                    send_with_retries(&a, &first.id, |now_ms| Rendered {
                        url: url.clone(),
                        body: self.body(chunk, now_ms),
                    })
                    .await;
                }
            }
        });
        join_all(sends).await;
    }

    /// The periodic re-send: one attempt per Alertmanager (the next period is
    /// the retry), every active alert, in chunks.
    async fn resend(&self, all: &[Arc<Notice>]) {
        if all.is_empty() {
            return;
        }
        let name = [self.rc.name.as_str()];
        let sends = self.rc.urls.iter().map(|url| async move {
            for chunk in all.chunks(RESEND_CHUNK) {
                let body = self.body(chunk, chrono::Utc::now().timestamp_millis());
                match http::post(&self.client, &self.rc.kind, url, body, self.timeout).await {
                    Outcome::Sent => self.metrics.sent.with_label_values(&name).inc(),
                    Outcome::Retry { why, .. } | Outcome::GiveUp(why) => {
                        self.metrics.failed.with_label_values(&name).inc();
                        tracing::warn!(receiver = %self.rc.name, url = %render::mask_url(url),
                            alerts = chunk.len(), error = %why, "notify: alertmanager re-send failed");
                        break;
                    }
                }
            }
        });
        join_all(sends).await;
        tracing::debug!(receiver = %self.rc.name, active = all.len(), "notify: active alerts re-sent");
    }
}
