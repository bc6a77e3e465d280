//! The NATS sink (`[notify.nats]`): every alert change and every incident change,
//! as JSON, to core NATS subjects other systems (and other daemons) follow:
//!
//! - `<prefix>.<site>.alerts`: `{"change", "site", "at", "alert": {…}}`, `change` one
//!   of `fired`, `updated` (severity, message or escalation), `acknowledged`,
//!   `resolved`, or `snapshot` (the alert as it stands, sent on every (re)connect
//!   and after a lag, so a follower can rebuild the open set);
//! - `<prefix>.<site>.incidents`: `{"change", "site", "at", "incident": {…}}`,
//!   `change` one of `opened`, `script_changed`, `closed` or `snapshot`.
//!
//! It reads what the WebSocket pushes read, beside the path, never upstream: the
//! alert task's lossy broadcast (resynced from the open set when it lags, the lag
//! counted in `floorwatch_nats_sink_lagged_total`) and the incidents task's
//! scripts in force (a `watch`: latest wins). So neither task ever waits for
//! NATS: a dead server costs this task its link, nothing else. The link is this
//! task's own: a connect or a flush that takes over `timeout_secs` is a lost link,
//! retried with backoff and jitter; every new link starts with a snapshot.
//!
//! What it cannot say: an incident whose script was never published (a draft) is
//! not in the scripts in force, so it shows once it is; call-backs and the fault
//! register are not broadcast by the incidents task (they are in the API).

pub mod config;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::event::{Ts, format_ts};
use crate::store::AlertRecord;
use crate::vocab::AlertState;
pub use config::{NatsSinkConfig, RawNatsSink};

/// The open alerts now (the alert task's `open`), `None` once it has stopped.
pub type OpenAlerts = Arc<dyn Fn() -> BoxFuture<'static, Option<Vec<AlertRecord>>> + Send + Sync>;

/// An incident as its script in force shows it (built by the caller from the
/// incidents task's `LiveScript`: this module may not name that task).
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentView {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub queue: Option<String>,
    pub component: Option<String>,
    pub script_version: u32,
    pub script_zh: String,
    pub script_en: String,
    pub published_at: Ts,
}

/// What the sink reads.
pub struct Feeds<T> {
    pub alerts: broadcast::Receiver<Arc<AlertRecord>>,
    pub open_alerts: OpenAlerts,
    pub incidents: watch::Receiver<Arc<Vec<T>>>,
    pub view: fn(&T) -> IncidentView,
}

// Defined with every other metric, in `crate::metrics`.
pub use crate::metrics::nats_sink::NatsSinkMetrics;

#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("connect failed: {0}")]
    Connect(String),
    #[error("no answer within {0:?}")]
    Silent(Duration),
    #[error("publish failed: {0}")]
    Publish(String),
}

/// Why a link ended.
enum Ended {
    Shutdown,
    Lost(LinkError),
}

/// Starts the sink; it ends on `cancel`.
pub fn spawn<T: Send + Sync + 'static>(
    cfg: NatsSinkConfig,
    feeds: Feeds<T>,
    metrics: NatsSinkMetrics,
    clock: Clock,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let sink = Sink {
        alerts_subject: cfg.alerts_subject(),
        incidents_subject: cfg.incidents_subject(),
        timeout: Duration::from_secs(cfg.timeout_secs),
        cfg,
        feeds,
        metrics,
        clock,
        cancel,
        alerts: HashMap::new(),
        incidents: HashMap::new(),
    };
    tokio::spawn(sink.run())
}

struct Sink<T> {
    cfg: NatsSinkConfig,
    alerts_subject: String,
    incidents_subject: String,
    timeout: Duration,
    feeds: Feeds<T>,
    metrics: NatsSinkMetrics,
    clock: Clock,
    cancel: CancellationToken,
    /// Open alerts as last published, by id: what a change is (fired or
    /// updated) and what resolved unseen during a lag.
    alerts: HashMap<String, Arc<AlertRecord>>,
    /// Incidents in force as last published, by id.
    incidents: HashMap<String, IncidentView>,
}

/// Exponential, from 200 ms to 10 s (followers want the snapshot soon after a
/// server comes back), with up to half of it added at random so a
/// fleet of daemons does not reconnect in step.
fn backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(200).saturating_mul(1 << failures.min(8)).min(Duration::from_secs(10));
    base + base.mul_f64(rand::random::<f64>() / 2.0)
}

/// What an alert record is, given the one published before it (if any).
pub fn alert_change(before: Option<&AlertRecord>, now: &AlertRecord) -> &'static str {
    match (now.state, before.map(|b| b.state)) {
        (AlertState::Resolved, _) => "resolved",
        (AlertState::Acknowledged, Some(AlertState::Acknowledged)) => "updated",
        (AlertState::Acknowledged, _) => "acknowledged",
        (AlertState::Firing, None) => "fired",
        (AlertState::Firing, Some(_)) => "updated",
    }
}

/// The alert as contract §5 has it (the fields `/ws/alerts` sends).
pub fn alert_json(a: &AlertRecord) -> Value {
    let mut subject = serde_json::Map::new();
    for (k, v) in [
        ("agent", &a.agent),
        ("team", &a.team),
        ("queue", &a.queue),
        ("source", &a.source),
        ("component", &a.component),
    ] {
        if let Some(v) = v {
            subject.insert(k.into(), Value::String(v.clone()));
        }
    }
    json!({
        "id": a.id,
        "kind": a.kind.as_str(),
        "severity": a.severity.as_str(),
        "fired_severity": a.fired_severity.as_str(),
        "state": a.state.as_str(),
        "subject": subject,
        "started_at": format_ts(a.started_at),
        "updated_at": format_ts(a.updated_at),
        "resolved_at": a.resolved_at.map(format_ts),
        "acknowledged_by": a.acked_by,
        "acknowledged_at": a.acked_at.map(format_ts),
        "ack_note": a.ack_note,
        "message": a.message,
        "messages": {"zh-CN": a.message_zh, "en": a.message_en},
        "value": a.value,
        "threshold": a.threshold,
        "escalated": a.escalated,
    })
}

pub fn incident_json(i: &IncidentView) -> Value {
    json!({
        "id": i.id,
        "kind": i.kind,
        "title": i.title,
        "queue": i.queue,
        "component": i.component,
        "script": {
            "version": i.script_version,
            "zh-CN": i.script_zh,
            "en": i.script_en,
            "published_at": format_ts(i.published_at),
        },
    })
}

/// Incident changes from one set in force to the next: opened, script changed,
/// closed (ordered by id, so a follower sees them in a stable order).
pub fn incident_changes<'a>(
    before: &'a HashMap<String, IncidentView>,
    now: &'a [IncidentView],
) -> Vec<(&'static str, &'a IncidentView)> {
    let mut out: Vec<(&'static str, &IncidentView)> = Vec::new();
    for i in now {
        match before.get(&i.id) {
            None => out.push(("opened", i)),
            Some(b) if b.script_version != i.script_version || b != i => out.push(("script_changed", i)),
            Some(_) => {}
        }
    }
    for (id, b) in before {
        if !now.iter().any(|i| &i.id == id) {
            out.push(("closed", b));
        }
    }
    out.sort_by(|a, b| a.1.id.cmp(&b.1.id).then(a.0.cmp(b.0)));
    out
}

impl<T: Send + Sync + 'static> Sink<T> {
    async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            let ended = match self.connect().await {
                Ok(client) => {
                    failures = 0;
                    self.metrics.up.set(1);
                    tracing::info!(url = %self.cfg.url, alerts = %self.alerts_subject, incidents = %self.incidents_subject, "nats sink link up");
                    let ended = self.link(&client).await;
                    self.metrics.up.set(0);
                    if matches!(ended, Ended::Shutdown) {
                        // What is queued in the client goes out before it closes.
                        let _ = tokio::time::timeout(self.timeout, client.flush()).await;
                    }
                    ended
                }
                Err(e) => Ended::Lost(e),
            };
            let error = match ended {
                Ended::Shutdown => return,
                Ended::Lost(e) => e,
            };
            self.metrics.link_failures.inc();
            let wait = backoff(failures);
            failures = failures.saturating_add(1);
            tracing::warn!(url = %self.cfg.url, error = %error, retry_ms = wait.as_millis() as u64, "nats sink link lost");
            tokio::select! {
                _ = self.cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn connect(&self) -> Result<async_nats::Client, LinkError> {
        let options = async_nats::ConnectOptions::new()
            .connection_timeout(self.timeout)
            .name(format!("floorwatch sink {}", self.cfg.site));
        let connect = options.connect(self.cfg.url.as_str());
        tokio::select! {
            _ = self.cancel.cancelled() => Err(LinkError::Connect("shutting down".into())),
            r = tokio::time::timeout(self.timeout, connect) => match r {
                Ok(Ok(c)) => Ok(c),
                Ok(Err(e)) => Err(LinkError::Connect(e.to_string())),
                Err(_) => Err(LinkError::Silent(self.timeout)),
            },
        }
    }

    /// One link: subscribe, snapshot, then follow both feeds until the link or
    /// the daemon ends. A flush every `timeout` proves the server still answers.
    async fn link(&mut self, client: &async_nats::Client) -> Ended {
        // Subscribed before the open set is read, so nothing falls between them.
        let mut updates = self.feeds.alerts.resubscribe();
        let mut incidents = self.feeds.incidents.clone();
        if let Err(e) = self.resync(client, &mut incidents).await {
            return Ended::Lost(e);
        }
        let mut check = tokio::time::interval(self.timeout);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        check.tick().await;
        let (mut alerts_open, mut incidents_open) = (true, true);
        let mut was_down = false;
        loop {
            let step = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Ended::Shutdown,
                r = updates.recv(), if alerts_open => match r {
                    Ok(rec) => self.on_alert(client, rec).await,
                    Err(RecvError::Lagged(n)) => {
                        self.metrics.lagged.inc_by(n);
                        tracing::warn!(missed = n, "nats sink lagged behind the alert changes; resyncing");
                        self.resync(client, &mut incidents).await
                    }
                    // The alert task has stopped: shutting down.
                    Err(RecvError::Closed) => { alerts_open = false; Ok(()) }
                },
                r = incidents.changed(), if incidents_open => match r {
                    Ok(()) => self.on_incidents(client, &mut incidents).await,
                    Err(_) => { incidents_open = false; Ok(()) }
                },
                _ = check.tick() => self.check(client, &mut was_down, &mut incidents).await,
            };
            if let Err(e) = step {
                return Ended::Lost(e);
            }
        }
    }

    /// The client reconnects by itself and sends what it buffered meanwhile,
    /// which may not be all (its buffer is bounded): a link that was down and is
    /// back is counted and resynced. A flush over `timeout` on a link that says it
    /// is up ends the link (this task then connects afresh).
    async fn check(
        &mut self,
        client: &async_nats::Client,
        was_down: &mut bool,
        rx: &mut watch::Receiver<Arc<Vec<T>>>,
    ) -> Result<(), LinkError> {
        if client.connection_state() != async_nats::connection::State::Connected {
            if !*was_down {
                tracing::warn!(url = %self.cfg.url, "nats sink link down; the client reconnects");
                self.metrics.link_failures.inc();
            }
            *was_down = true;
            self.metrics.up.set(0);
            return Ok(());
        }
        if *was_down {
            *was_down = false;
            self.metrics.up.set(1);
            tracing::info!(url = %self.cfg.url, "nats sink link back; resyncing");
            return self.resync(client, rx).await;
        }
        match tokio::time::timeout(self.timeout, client.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(LinkError::Publish(e.to_string())),
            Err(_) => Err(LinkError::Silent(self.timeout)),
        }
    }

    async fn publish(
        &self,
        client: &async_nats::Client,
        topic: &'static str,
        body: Value,
    ) -> Result<(), LinkError> {
        let subject = if topic == "alerts" { &self.alerts_subject } else { &self.incidents_subject };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        // The client's own buffer is bounded: a server that stopped reading makes
        // this wait, and that wait is bounded too.
        match tokio::time::timeout(self.timeout, client.publish(subject.clone(), bytes.into())).await {
            Ok(Ok(())) => {
                self.metrics.published.with_label_values(&[topic]).inc();
                Ok(())
            }
            Ok(Err(e)) => Err(LinkError::Publish(e.to_string())),
            Err(_) => Err(LinkError::Silent(self.timeout)),
        }
    }

    fn envelope(&self, change: &str, key: &str, body: Value) -> Value {
        json!({"change": change, "site": self.cfg.site, "at": format_ts(self.clock.now_ms()), key: body})
    }

    async fn on_alert(
        &mut self,
        client: &async_nats::Client,
        rec: Arc<AlertRecord>,
    ) -> Result<(), LinkError> {
        let change = alert_change(self.alerts.get(&rec.id).map(|a| a.as_ref()), &rec);
        let msg = self.envelope(change, "alert", alert_json(&rec));
        if rec.state == AlertState::Resolved {
            self.alerts.remove(&rec.id);
        } else {
            self.alerts.insert(rec.id.clone(), Arc::clone(&rec));
        }
        self.publish(client, "alerts", msg).await
    }

    async fn on_incidents(
        &mut self,
        client: &async_nats::Client,
        rx: &mut watch::Receiver<Arc<Vec<T>>>,
    ) -> Result<(), LinkError> {
        let now: Vec<IncidentView> = rx.borrow_and_update().iter().map(self.feeds.view).collect();
        let msgs: Vec<Value> = incident_changes(&self.incidents, &now)
            .into_iter()
            .map(|(change, i)| self.envelope(change, "incident", incident_json(i)))
            .collect();
        self.incidents = now.into_iter().map(|i| (i.id.clone(), i)).collect();
        for m in msgs {
            self.publish(client, "incidents", m).await?;
        }
        Ok(())
    }

    /// Every open alert and incident in force as `snapshot`; those published as
    /// open before and gone now as `resolved` / `closed` (they ended unseen).
    async fn resync(
        &mut self,
        client: &async_nats::Client,
        rx: &mut watch::Receiver<Arc<Vec<T>>>,
    ) -> Result<(), LinkError> {
        self.metrics.resyncs.inc();
        let open = (self.feeds.open_alerts)().await.unwrap_or_default();
        let mut msgs = Vec::new();
        let mut gone: Vec<&Arc<AlertRecord>> =
            self.alerts.values().filter(|a| !open.iter().any(|o| o.id == a.id)).collect();
        gone.sort_by(|a, b| a.id.cmp(&b.id));
        for a in gone {
            let mut ended = AlertRecord::clone(a);
            ended.state = AlertState::Resolved;
            msgs.push(("alerts", self.envelope("resolved", "alert", alert_json(&ended))));
        }
        for a in &open {
            msgs.push(("alerts", self.envelope("snapshot", "alert", alert_json(a))));
        }
        self.alerts = open.into_iter().map(|a| (a.id.clone(), Arc::new(a))).collect();
        let now: Vec<IncidentView> = rx.borrow_and_update().iter().map(self.feeds.view).collect();
        let mut closed: Vec<&IncidentView> =
            self.incidents.values().filter(|b| !now.iter().any(|i| i.id == b.id)).collect();
        closed.sort_by(|a, b| a.id.cmp(&b.id));
        for i in closed {
            msgs.push(("incidents", self.envelope("closed", "incident", incident_json(i))));
        }
        for i in &now {
            msgs.push(("incidents", self.envelope("snapshot", "incident", incident_json(i))));
        }
        self.incidents = now.into_iter().map(|i| (i.id.clone(), i)).collect();
        for (topic, m) in msgs {
            self.publish(client, topic, m).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
