//! Wiring: builds the channels, starts the engine and the HTTP server, and owns the
//! shutdown order.
//!
//! Shutdown: cancel the token → the server stops accepting and ingest sessions send
//! a 1001 close → their engine senders drop → the engine applies what is left,
//! publishes a last snapshot and hands over its last baselines → the baseline
//! saver writes them → the alert and incidents tasks save what is left and
//! notifications drain → the store closes → done, or a warning after
//! `shutdown_grace` at each wait.
//!
//! Supervision ([`Supervisor`]): every long-lived task is watched. If any of them
//! (the engine, the alert or incidents task, the wall feed, a notification
//! receiver, the baseline saver, the store's writer, the HTTP server, a dial-out
//! or NATS source) ends while
//! serving, that is fatal: the daemon shuts down with an error naming it (exit
//! code 1, so systemd restarts it) rather than serve a floor that nobody updates
//! or that never raises an alert.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod supervisor;

pub use supervisor::{Ending, Supervised, Supervisor, TaskFailed};

use crate::alerts;
use crate::clock::Clock;
use crate::config::Config;
use crate::engine::{self, AlertsLink, Checkpoint};
use crate::floor::Snapshot;
use crate::http::{AppState, router};
use crate::incidents;
use crate::ingest::{IngestMetrics, Intake};
use crate::metrics::Metrics;
use crate::metrics::collector::FloorCollector;
use crate::notify::{self, NotifyMetrics};
use crate::store::{Sealed, StoreHandle};

/// A running daemon.
pub struct Daemon {
    pub addr: SocketAddr,
    pub snapshot: watch::Receiver<Arc<Snapshot>>,
    pub metrics: Arc<Metrics>,
    /// Ingest's own counters (frames, rejections, connections), for in-process readers.
    pub ingest: IngestMetrics,
    /// The daemon's store, for in-process readers (what the API lists is there).
    pub store: StoreHandle,
    /// `true` once the floor is restored and events are taken (for `/readyz`).
    pub ready: Arc<std::sync::atomic::AtomicBool>,
    cancel: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Daemon {
    /// Starts serving on `listener` (bind it first, port 0 in tests).
    pub async fn start(cfg: Config, listener: TcpListener, clock: Clock) -> anyhow::Result<Daemon> {
        let addr = listener.local_addr().context("listener has no local address")?;
        // Made first: the floor's refusals are counted in its rejection family.
        let ingest_metrics = IngestMetrics::new();
        let mut metrics = Metrics::new();
        metrics.count_refusals_in(ingest_metrics.rejected_family());
        let metrics = Arc::new(metrics);
        let store = StoreHandle::open(&cfg.data_dir)
            .with_context(|| format!("opening the database in {}", cfg.data_dir.display()))?;
        // Engine → alerts: bounded and lossless (see engine::AlertsLink).
        let (signals_tx, signals_rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let notify_metrics = NotifyMetrics::new();
        notify_metrics.register(&metrics.registry).context("registering notification metrics")?;
        let notifier = if cfg.notify.receivers.is_empty() {
            None
        } else {
            Some(
                notify::spawn(cfg.notify.clone(), notify_metrics, cancel.child_token())
                    .context("starting the notification receivers")?,
            )
        };
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
        // The shift task raises patrol alerts on the rules' own channel to the alert task.
        let shift_signals = signals_tx.clone();
        let initial_baselines = baselines.clone();
        let link =
            AlertsLink { cfg: cfg.alerts.clone(), signals: signals_tx, restored: alerts.restored, baselines };
        // The live floor as the last run left it, before the engine takes any
        // input and before the server accepts: nobody sees an empty room.
        let checkpoint = restore_checkpoint(&cfg, &store, clock).await?;
        let seqs: Vec<(crate::event::Id, u64)> =
            checkpoint.as_ref().map(|c| c.seqs.clone()).unwrap_or_default();
        // Where each NATS consumer resumes: right after what the restored floor holds.
        let positions: Vec<(crate::event::Id, u64)> =
            checkpoint.as_ref().map(|c| c.streams.clone()).unwrap_or_default();
        let engine =
            engine::spawn(&cfg.floor, cfg.ingest.channel_capacity, metrics.clone(), clock, link, checkpoint);
        let shift_baselines = engine.baselines.clone();
        // The engine publishes its baselines and never waits for their COMMIT;
        // this task does, and ends after saving the last value the engine left.
        let baseline_saver = store.keep_baselines(engine.baselines);
        // The call log's writer: the engine hands it each round's finished
        // calls (bounded, lossless) and never waits for the COMMIT.
        let call_log = store.keep_calls(engine.calls, cfg.qa.keep_days, move || clock.now_ms());
        // Likewise the agent state log (closed states, for the KPI reports).
        let state_log = store.keep_states(engine.states, cfg.qa.keep_days, move || clock.now_ms());
        // Likewise the checkpoints: copied on the engine, encoded and committed here.
        let saved_metrics = metrics.clone();
        let checkpoint_saver = store.keep_checkpoint(
            engine.checkpoint,
            |cp: &Checkpoint| Sealed::new(engine::checkpoint::VERSION, cp.taken_at, cp.encode()),
            move |bytes, secs| {
                let m = &saved_metrics;
                m.checkpoint_save_seconds.observe(secs);
                m.checkpoint_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
                m.checkpoint_last_success.set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
            },
        );
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

        // `[notify.nats]`: alert and incident changes to NATS, read beside the
        // path (the alert broadcast, the scripts in force); its metrics are
        // registered either way, so dashboards see a sink that is off as 0.
        let sink_metrics = notify::nats::NatsSinkMetrics::new();
        sink_metrics.register(&metrics.registry).context("registering NATS sink metrics")?;
        let nats_sink = cfg.notify.nats.clone().map(|sink_cfg| {
            let handle = alerts.handle.clone();
            let open_alerts: notify::nats::OpenAlerts = Arc::new(move || {
                let handle = handle.clone();
                Box::pin(async move { handle.open().await.ok() })
            });
            let feeds = notify::nats::Feeds {
                alerts: alerts.handle.subscribe(),
                open_alerts,
                incidents: incidents.handle.scripts(),
                view: incident_view,
            };
            notify::nats::spawn(sink_cfg, feeds, sink_metrics, clock, cancel.child_token())
        });

        let shift = crate::shift::spawn(crate::shift::ShiftInputs {
            cfg: cfg.shift.clone(),
            shifts: crate::shift::Shifts::new(cfg.floor.timezone, cfg.floor.shifts.clone()),
            store: store.clone(),
            snapshot: engine.snapshot.clone(),
            signals: shift_signals,
            baselines: shift_baselines,
            initial_baselines,
            surge: crate::rules::surge::SurgeConfig {
                interval_secs: cfg.alerts.surge_interval_secs,
                warmup_intervals: cfg.alerts.surge_warmup_intervals,
                min_calls: cfg.alerts.surge_min_calls,
                ..Default::default()
            },
            clock,
            cancel: cancel.clone(),
        })
        .await
        .context("loading the patrol log")?;

        let (floor_feed, feed_task) =
            crate::http::FloorFeed::spawn(engine.snapshot.clone(), &cfg, clock, cancel.clone());
        // `--record`: opened before serving, so a path that cannot be written
        // fails the start rather than the first event.
        let record_metrics = crate::ingest::RecordMetrics::new();
        record_metrics.register(&metrics.registry).context("registering recorder metrics")?;
        let recording = match cfg.record.clone() {
            Some(rc) => {
                Some(crate::ingest::record::spawn(rc, record_metrics).context("starting the recorder")?)
            }
            None => None,
        };
        let (recorder, recorder_task) = recording.unzip();
        // `/readyz`: false until the server below accepts, with state restored.
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
        ingest_metrics.register(&metrics.registry).context("registering ingest metrics")?;
        // The one intake every source is built with.
        let intake = Intake::with_recorder(engine.tx, ingest_metrics.clone(), recorder)
            .with_max_sources(cfg.limits.max_sources);
        for (source, last) in seqs {
            intake.marks().restore(source, last);
        }
        // Dial-out sources (Asterisk AMI, FreeSWITCH ESL) reconnect on their own;
        // a task that ends while serving is a fault like any other.
        let mut sources = crate::ingest::dial::spawn(&cfg.sources, &intake, clock, &cancel);
        // NATS JetStream sources, repositioned from the checkpoint on each link;
        // their metrics are registered either way, like the sink's.
        let source_metrics = crate::metrics::nats_source::NatsSourceMetrics::new();
        source_metrics.register(&metrics.registry).context("registering NATS source metrics")?;
        sources.extend(crate::ingest::nats::spawn(
            &cfg.sources,
            &intake,
            clock,
            &positions,
            cfg.limits.max_field_bytes,
            &source_metrics,
            &cancel,
        ));
        // The token table's one owner; SIGHUP swaps it (see `keep_tokens`).
        let access = crate::access::AccessHandle::new(cfg.tokens.clone());
        let state = AppState {
            intake,
            snapshot: engine.snapshot.clone(),
            metrics: metrics.clone(),
            conn_limit: Arc::new(Semaphore::new(cfg.ingest.max_connections)),
            ingest: Arc::new(cfg.ingest.clone()),
            limits: cfg.limits,
            cancel: cancel.clone(),
            alerts: alerts.handle,
            incidents: incidents.handle,
            admin_token: cfg.admin_token.as_deref().map(Arc::from),
            floor_feed,
            read_access: cfg.wallboard.read_access,
            timezone: cfg.floor.timezone,
            ready: ready.clone(),
            vendors: Arc::new(crate::ingest::vendor::VendorSources::new(cfg.vendor_sources.clone())),
            clock,
            access: access.clone(),
            trusted_proxies: cfg.trusted_proxies.clone().into(),
            shift: shift.handle,
            qa: Arc::new(cfg.qa.clone()),
        };
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(listener, app).with_graceful_shutdown(cancel.clone().cancelled_owned());
        let server = tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "http server failed");
            }
        });

        // Every long-lived task is watched: any that ends while serving shuts the
        // daemon down with an error (exit code 1), as the engine always did.
        let mut sup = Supervisor::new();
        let server = sup.watch("http server", server);
        let engine_task = sup.watch("floor engine", engine.task);
        let baseline_saver = sup.watch("baseline saver", baseline_saver);
        let call_log = sup.watch("call log", call_log);
        let state_log = sup.watch("agent state log", state_log);
        let checkpoint_saver = sup.watch("checkpoint saver", checkpoint_saver);
        let alerts_task = sup.watch("alerts", alerts.task);
        let incidents_task = sup.watch("incidents", incidents.task);
        let shift_task = sup.watch("shift", shift.task);
        let recorder_task = recorder_task.map(|t| sup.watch("recorder", t));
        let _feed = sup.watch("wall feed", feed_task);
        // The daily retention purge (chunked: the writer is never held for long).
        let _retention = sup.watch(
            "retention purge",
            store.keep_retention(cfg.retention.clone(), clock, metrics.rows_purged.clone(), cancel.clone()),
        );
        let writer = store.clone();
        let kept = store.clone();
        let _writer = sup.watch("store writer", tokio::spawn(async move { writer.writer_stopped().await }));
        for worker in notifier.iter().flat_map(|n| n.take_tasks()) {
            let _ = sup.watch("notification receiver", worker);
        }
        let sources: Vec<_> = sources.into_iter().map(|s| sup.watch("dial-out source", s)).collect();
        let nats_sink = nats_sink.map(|t| sup.watch("nats sink", t));
        if let Some(reload) = cfg.reload.clone() {
            let task = keep_tokens(reload, access, metrics.clone(), cancel.clone())
                .context("listening for SIGHUP")?;
            let _reload = sup.watch("config reload", task);
        }

        let grace = cfg.shutdown_grace;
        let token = cancel.clone();
        let task = tokio::spawn(async move {
            let served = sup.serve(&token).await;
            // The drain order. The server first: once it has stopped, the ingest
            // sessions have let go of the engine's senders, so the engine drains.
            // It waits as long as it takes, as axum's graceful shutdown does.
            server.finish(std::time::Duration::MAX).await;
            // The dial-out sources hold engine senders too: they close their
            // links and connections before the engine drains.
            for s in sources {
                s.finish(grace).await;
            }
            let drained = match engine_task.finish(grace).await {
                Some(Ending::Panicked(m)) => Err(anyhow::anyhow!("floor engine crashed while draining: {m}")),
                _ => Ok(()),
            };
            // The engine has handed over its last baselines (or is gone): saved
            // before the store closes, so a restart does not learn them afresh.
            baseline_saver.finish(grace).await;
            // Likewise the finished calls it handed over last.
            call_log.finish(grace).await;
            state_log.finish(grace).await;
            // The sessions have let go of the recorder's senders too: it writes
            // what is queued, flushes, syncs and ends.
            if let Some(r) = recorder_task {
                r.finish(grace).await;
            }
            // And its last checkpoint, so a graceful restart loses no live state.
            checkpoint_saver.finish(grace).await;
            // The shift task (the other sender of signals) ended at the cancel.
            shift_task.finish(grace).await;
            // The engine has stopped (its signal sender is gone): the alert task
            // saves what is left and ends once the HTTP side has let go of it too.
            alerts_task.finish(grace).await;
            // Then incidents, which the alert task feeds: its last changes are saved.
            incidents_task.finish(grace).await;
            // The sink ended at the cancel, after flushing what it had queued.
            if let Some(t) = nats_sink {
                t.finish(grace).await;
            }
            if let Some(n) = notifier {
                n.drain(grace).await;
            }
            store.close().await;
            served.map_err(anyhow::Error::from).and(drained)
        });
        // Alerts and incidents are restored (above) and the listener accepts.
        ready.store(true, std::sync::atomic::Ordering::Release);
        tracing::info!(%addr, "floorwatch listening");
        Ok(Daemon {
            addr,
            ready,
            snapshot: engine.snapshot,
            metrics,
            ingest: ingest_metrics,
            store: kept,
            cancel,
            task,
        })
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

/// SIGHUP: re-reads the config file, validates all of it as `serve` would and
/// swaps the token table in whole; connections and sessions are untouched (each
/// request reads the table it finds). A bad file keeps the old table, logs every
/// problem at its line and column and counts the failure. Ends at shutdown.
fn keep_tokens(
    reload: crate::config::Reload,
    access: crate::access::AccessHandle,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> anyhow::Result<JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                got = hup.recv() => if got.is_none() { return },
            }
            let (file, env) = (reload.file.clone(), reload.env.clone());
            // A small file, but still file IO: off the runtime's workers.
            let loaded = tokio::task::spawn_blocking(move || crate::config::load(Some(&file), &env)).await;
            match loaded {
                Ok(Ok(cfg)) => {
                    let people = cfg.tokens.people().len();
                    access.replace(cfg.tokens);
                    metrics.config_reloads.inc();
                    tracing::info!(file = %reload.file.display(), people, "config reloaded: tokens swapped");
                }
                Ok(Err(errors)) => {
                    metrics.config_reload_failures.inc();
                    for e in &errors.0 {
                        tracing::error!(problem = %e, "config reload refused; the tokens in force stay");
                    }
                }
                Err(e) => {
                    metrics.config_reload_failures.inc();
                    tracing::error!(error = %e, "config reload failed; the tokens in force stay");
                }
            }
        }
    }))
}

/// The checkpoint to start from: the stored one if checkpoints are on, it
/// verifies and decodes, and it is not older than `call_retention_secs` (a floor
/// from hours ago is no longer the floor). Anything else starts an empty floor,
/// with a warning saying why; only a store that cannot be read is an error.
async fn restore_checkpoint(
    cfg: &Config,
    store: &StoreHandle,
    clock: Clock,
) -> anyhow::Result<Option<Checkpoint>> {
    if cfg.floor.checkpoint_secs == 0 {
        tracing::info!("floor checkpoints are off; starting with an empty floor");
        return Ok(None);
    }
    let started = tokio::time::Instant::now();
    let Some(stored) = store.load_checkpoint().await.context("loading the floor checkpoint")? else {
        return Ok(None);
    };
    let age_ms = clock.now_ms() - stored.taken_at;
    if age_ms > cfg.floor.call_retention_ms {
        tracing::warn!(age_secs = age_ms / 1000, "floor checkpoint too old; starting with an empty floor");
        return Ok(None);
    }
    let bytes = stored.body.len();
    // Decoding a big floor takes a moment of CPU: off the runtime's workers.
    let decoded = tokio::task::spawn_blocking(move || Checkpoint::decode(stored.version, &stored.body))
        .await
        .context("decoding the floor checkpoint")?;
    match decoded {
        Ok(cp) => {
            tracing::info!(
                agents = cp.floor.agents.len(),
                calls = cp.floor.calls.len(),
                bytes,
                age_ms,
                load_ms = started.elapsed().as_millis() as u64,
                "floor restored from checkpoint"
            );
            Ok(Some(cp))
        }
        Err(e) => {
            tracing::warn!(error = %e, bytes, "floor checkpoint not usable; starting with an empty floor");
            Ok(None)
        }
    }
}

/// An incident in force as the NATS sink publishes it.
fn incident_view(s: &incidents::LiveScript) -> notify::nats::IncidentView {
    notify::nats::IncidentView {
        id: s.incident.clone(),
        kind: s.kind.clone(),
        title: s.title.clone(),
        queue: s.queue.clone(),
        component: s.component.clone(),
        script_version: s.version,
        script_zh: s.text_zh.clone(),
        script_en: s.text_en.clone(),
        published_at: s.published_at,
    }
}
