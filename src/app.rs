//! Wiring: builds the channels, starts the engine and the HTTP server, and owns the
//! shutdown order.
//!
//! Shutdown: cancel the token → the server stops accepting and ingest sessions send
//! a 1001 close → their engine senders drop → the engine applies what is left,
//! publishes a last snapshot and hands over its last baselines → the baseline
//! saver writes them → the alert and incidents tasks save what is left and
//! notifications drain → the store closes → done, or a warning after
//! `shutdown_grace` at each wait. If the engine dies while serving, that is
//! fatal: the daemon shuts down with an error rather than serve a floor nobody
//! updates.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::alerts;
use crate::clock::Clock;
use crate::config::Config;
use crate::engine::{self, AlertsLink};
use crate::floor::Snapshot;
use crate::http::{AppState, router};
use crate::incidents;
use crate::ingest::{IngestMetrics, Intake};
use crate::metrics::Metrics;
use crate::metrics::collector::FloorCollector;
use crate::notify::{self, NotifyMetrics};
use crate::store::StoreHandle;

/// A running daemon.
pub struct Daemon {
    pub addr: SocketAddr,
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub metrics: Arc<Metrics>,
    /// Ingest's own counters (frames, rejections, connections), for in-process readers.
    pub ingest: IngestMetrics,
    cancel: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Daemon {
    /// Starts serving on `listener` (bind it first, port 0 in tests).
    pub async fn start(cfg: Config, listener: TcpListener, clock: Clock) -> anyhow::Result<Daemon> {
        let addr = listener.local_addr().context("listener has no local address")?;
        let metrics = Arc::new(Metrics::new());
        let store = StoreHandle::open(&cfg.data_dir)
            .with_context(|| format!("opening the database in {}", cfg.data_dir.display()))?;
        // Engine → alerts: bounded and lossless (see engine::AlertsLink).
        let (signals_tx, signals_rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let notify_metrics = NotifyMetrics::new();
        notify_metrics.register(&metrics.registry).context("registering notification metrics")?;
        let notifier = (!cfg.notify.receivers.is_empty())
            .then(|| notify::spawn(cfg.notify.clone(), notify_metrics, cancel.child_token()));
        // Alerts → incidents: bounded and lossless, like engine → alerts.
        let (changes_tx, changes_rx) = mpsc::channel(1024);
        let outlets = alerts::Outlets {
            language: cfg.alerts.language,
            notifier: notifier.clone(),
            renotify: std::time::Duration::from_secs(u64::from(cfg.alerts.renotify_secs)),
            downstream: Some(changes_tx),
        };
        let alerts = alerts::spawn(store.clone(), signals_rx, metrics.clone(), clock, outlets)
            .await
            .context("restoring open alerts")?;
        let baselines = store.load_baselines().await.context("loading traffic baselines")?;
        let link =
            AlertsLink { cfg: cfg.alerts.clone(), signals: signals_tx, restored: alerts.restored, baselines };
        let engine = engine::spawn(&cfg.floor, cfg.ingest.channel_capacity, metrics.clone(), clock, link);
        // The engine publishes its baselines and never waits for their COMMIT;
        // this task does, and ends after saving the last value the engine left.
        let baseline_saver = store.keep_baselines(engine.baselines);
        metrics
            .registry
            .register(Box::new(
                FloorCollector::new(engine.snapshot.clone()).with_reasons(cfg.alerts.busy_limit_secs.keys()),
            ))
            .context("registering floor metrics")?;

        let incident_metrics =
            crate::metrics::IncidentMetrics::new(cfg.incidents.playbooks.iter().map(|p| p.kind.as_str()));
        incident_metrics.register(&metrics.registry).context("registering incident metrics")?;
        let incidents = incidents::spawn(
            cfg.incidents.clone(),
            store.clone(),
            changes_rx,
            engine.snapshot.clone(),
            clock,
            notifier.clone(),
            incident_metrics,
        )
        .await
        .context("restoring open incidents")?;

        let ingest_metrics = IngestMetrics::new();
        ingest_metrics.register(&metrics.registry).context("registering ingest metrics")?;
        let state = AppState {
            // The one intake every source is built with.
            intake: Intake::new(engine.tx, ingest_metrics.clone()),
            snapshot: engine.snapshot.clone(),
            metrics: metrics.clone(),
            conn_limit: Arc::new(Semaphore::new(cfg.ingest.max_connections)),
            ingest: Arc::new(cfg.ingest.clone()),
            cancel: cancel.clone(),
            alerts: alerts.handle,
            incidents: incidents.handle,
            admin_token: cfg.admin_token.as_deref().map(Arc::from),
            floor_feed: crate::http::FloorFeed::spawn(engine.snapshot.clone(), &cfg, clock, cancel.clone()),
            read_access: cfg.wallboard.read_access,
            timezone: cfg.floor.timezone,
        };
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(listener, app).with_graceful_shutdown(cancel.clone().cancelled_owned());
        let server = tokio::spawn(async move { server.await });

        let grace = cfg.shutdown_grace;
        let token = cancel.clone();
        let mut engine_task = engine.task;
        let alerts_task = alerts.task;
        let incidents_task = incidents.task;
        let task = tokio::spawn(async move {
            let result = Self::supervise(token, server, &mut engine_task, grace).await;
            // The engine has handed over its last baselines (or is gone): saved
            // before the store closes, so a restart does not learn them afresh.
            match tokio::time::timeout(grace, baseline_saver).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "baseline saver failed"),
                Err(_) => {
                    tracing::warn!(grace_secs = grace.as_secs(), "baseline saver did not finish in time")
                }
            }
            // The engine has stopped (its signal sender is gone): the alert task
            // saves what is left and ends once the HTTP side has let go of it too.
            if tokio::time::timeout(grace, alerts_task).await.is_err() {
                tracing::warn!(grace_secs = grace.as_secs(), "alert task did not finish in time");
            }
            // Then incidents, which the alert task feeds: its last changes are saved.
            if tokio::time::timeout(grace, incidents_task).await.is_err() {
                tracing::warn!(grace_secs = grace.as_secs(), "incidents task did not finish in time");
            }
            if let Some(n) = notifier {
                n.drain(grace).await;
            }
            store.close().await;
            result
        });
        tracing::info!(%addr, "floorwatch listening");
        Ok(Daemon { addr, snapshot: engine.snapshot, metrics, ingest: ingest_metrics, cancel, task })
    }

    /// Serves until cancelled (or the engine dies), then drains the engine.
    async fn supervise(
        token: CancellationToken,
        server: JoinHandle<std::io::Result<()>>,
        engine_task: &mut JoinHandle<()>,
        grace: std::time::Duration,
    ) -> anyhow::Result<()> {
        let crashed = tokio::select! {
            // Cancellation first: when shutdown has begun, an engine that has
            // already drained and ended is the normal course, not a crash.
            biased;
            _ = token.cancelled() => None,
            r = &mut *engine_task => Some(r),
        };
        if let Some(r) = crashed {
            token.cancel();
            let _ = server.await;
            return Err(match r {
                Err(e) => anyhow::anyhow!("floor engine crashed: {e}"),
                Ok(()) => anyhow::anyhow!("floor engine stopped unexpectedly"),
            });
        }
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "http server failed"),
            Err(e) => tracing::error!(error = %e, "http server task failed"),
        }
        match tokio::time::timeout(grace, engine_task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("floor engine crashed while draining: {e}")),
            Err(_) => {
                tracing::warn!(grace_secs = grace.as_secs(), "floor engine did not drain in time");
                Ok(())
            }
        }
    }

    /// Begins a graceful shutdown; [`Daemon::wait`] returns when it is done.
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    /// A token that is cancelled when the daemon shuts down (for companions such
    /// as the demo simulator).
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Waits until the daemon has stopped and drained.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("daemon task failed")?
    }
}
