//! Retention: how long the store keeps history, and the daily purge.
//!
//! Alert history, the audit trail, finished call-backs and recovered faults are
//! deleted once older than their configured days (0 keeps them forever). What is
//! still live is never touched: an open alert, a pending call-back, a fault not
//! yet recovered. An alert an audit row still names is kept until that row goes
//! (the audit's foreign key: the trail outlives what it records).
//!
//! The purge never holds the writer for long: each table is deleted from in
//! chunks of [`CHUNK_ROWS`] rows, each chunk its own command and transaction,
//! so alert saves and acknowledgements queued meanwhile run between chunks. The
//! freed pages are then returned to the file system a few at a time with
//! `PRAGMA incremental_vacuum` (databases created by this version use
//! `auto_vacuum = INCREMENTAL`; an older file reuses the freed pages instead of
//! shrinking, until an operator runs `VACUUM` once, offline).

use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{StoreError, StoreHandle};

/// Rows per delete transaction.
pub(crate) const CHUNK_ROWS: usize = 1000;
/// Pages per incremental vacuum step (4 MiB at the default 4 KiB page).
const VACUUM_PAGES: u32 = 1024;
const DAY_MS: i64 = 86_400_000;

/// Defaults: three months of alerts and call-backs, a year of the audit trail
/// and the fault register (what an operator's yearly review reads).
pub(crate) const DEFAULT_ALERTS_DAYS: u32 = 90;
pub(crate) const DEFAULT_AUDIT_DAYS: u32 = 365;
pub(crate) const DEFAULT_CALLBACKS_DAYS: u32 = 90;
pub(crate) const DEFAULT_FAULTS_DAYS: u32 = 365;

/// Validated `[retention]`; each `*_days` of 0 keeps that history forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Resolved alerts, by resolve time.
    pub alerts_days: u32,
    /// Audit rows, by time.
    pub audit_days: u32,
    /// Call-backs done or failed, by last update.
    pub callbacks_days: u32,
    /// Recovered faults, by recovery time.
    pub faults_days: u32,
    /// How often the purge runs (daily).
    pub interval: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            alerts_days: DEFAULT_ALERTS_DAYS,
            audit_days: DEFAULT_AUDIT_DAYS,
            callbacks_days: DEFAULT_CALLBACKS_DAYS,
            faults_days: DEFAULT_FAULTS_DAYS,
            interval: Duration::from_secs(86_400),
        }
    }
}

/// `[retention]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRetentionConfig {
    pub alerts_days: Option<u32>,
    pub audit_days: Option<u32>,
    pub callbacks_days: Option<u32>,
    pub faults_days: Option<u32>,
}

impl RawRetentionConfig {
    /// Every problem with its key path.
    pub fn validate(self) -> Result<RetentionConfig, Vec<(String, String)>> {
        let d = RetentionConfig::default();
        let mut errs = Vec::new();
        let mut days = |key: &str, v: Option<u32>, default: u32| {
            let v = v.unwrap_or(default);
            if v > 36_500 {
                errs.push((
                    format!("retention.{key}"),
                    "must be at most 36500 days (0: keep forever)".into(),
                ));
            }
            v
        };
        let cfg = RetentionConfig {
            alerts_days: days("alerts_days", self.alerts_days, d.alerts_days),
            audit_days: days("audit_days", self.audit_days, d.audit_days),
            callbacks_days: days("callbacks_days", self.callbacks_days, d.callbacks_days),
            faults_days: days("faults_days", self.faults_days, d.faults_days),
            interval: d.interval,
        };
        if errs.is_empty() { Ok(cfg) } else { Err(errs) }
    }
}

/// One table's purge: what goes, and when a row is old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Alerts,
    Audit,
    Callbacks,
    Faults,
}

impl Table {
    /// Audit first: an alert is deletable only once no audit row names it.
    pub const ALL: [Table; 4] = [Table::Audit, Table::Alerts, Table::Callbacks, Table::Faults];

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Alerts => "alerts",
            Table::Audit => "audit",
            Table::Callbacks => "callbacks",
            Table::Faults => "faults",
        }
    }

    fn days(self, cfg: &RetentionConfig) -> u32 {
        match self {
            Table::Alerts => cfg.alerts_days,
            Table::Audit => cfg.audit_days,
            Table::Callbacks => cfg.callbacks_days,
            Table::Faults => cfg.faults_days,
        }
    }

    /// Deletes at most `limit` rows older than `cutoff_ms`; how many it deleted.
    fn delete_chunk(self, conn: &mut Connection, cutoff_ms: i64, limit: usize) -> rusqlite::Result<usize> {
        // Fixed statements; only the cutoff and the limit are parameters.
        let sql = match self {
            Table::Audit => "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE ts < ?1 LIMIT ?2)",
            Table::Alerts => {
                "DELETE FROM alerts WHERE id IN (SELECT a.id FROM alerts a
                   WHERE a.state = 'resolved' AND a.resolved_at < ?1
                     AND NOT EXISTS (SELECT 1 FROM audit u WHERE u.alert_id = a.id) LIMIT ?2)"
            }
            Table::Callbacks => {
                "DELETE FROM callbacks WHERE id IN (SELECT id FROM callbacks
                   WHERE status IN ('done', 'failed') AND updated_at < ?1 LIMIT ?2)"
            }
            Table::Faults => {
                "DELETE FROM faults WHERE id IN (SELECT id FROM faults
                   WHERE recovered_at IS NOT NULL AND recovered_at < ?1 LIMIT ?2)"
            }
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n =
            tx.prepare_cached(sql)?.execute(params![cutoff_ms, i64::try_from(limit).unwrap_or(i64::MAX)])?;
        tx.commit()?;
        Ok(n)
    }
}

/// Rows deleted per table by one purge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged(pub Vec<(Table, usize)>);

impl Purged {
    pub fn of(&self, t: Table) -> usize {
        self.0.iter().filter(|(x, _)| *x == t).map(|(_, n)| n).sum()
    }
}

impl StoreHandle {
    /// Deletes what `cfg` says is old at `now_ms`, chunk by chunk (each chunk
    /// one writer command, so other commands run in between), then vacuums
    /// incrementally. `on_chunk` hears each chunk's count (for the metrics).
    pub async fn purge(
        &self,
        cfg: &RetentionConfig,
        now_ms: i64,
        mut on_chunk: impl FnMut(Table, usize),
    ) -> Result<Purged, StoreError> {
        let mut purged = Purged::default();
        for t in Table::ALL {
            let days = t.days(cfg);
            if days == 0 {
                continue;
            }
            let cutoff = now_ms.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
            let mut total = 0;
            loop {
                let n = self.job("purge", move |conn| t.delete_chunk(conn, cutoff, CHUNK_ROWS)).await?;
                total += n;
                if n > 0 {
                    on_chunk(t, n);
                }
                if n < CHUNK_ROWS {
                    break;
                }
            }
            purged.0.push((t, total));
        }
        // A few pages a step, until none are free (a no-op without auto_vacuum).
        loop {
            let left = self
                .job("incremental_vacuum", |conn| {
                    conn.execute_batch(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES})"))?;
                    conn.query_row("PRAGMA freelist_count", [], |r| r.get::<_, i64>(0))
                })
                .await?;
            let auto: i64 = self
                .job("auto_vacuum", |conn| conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0)))
                .await?;
            if left == 0 || auto != 2 {
                break;
            }
        }
        Ok(purged)
    }

    /// The daily purge, until `cancel`: first a minute after start (so a
    /// restart loop does not purge over and over), then every `cfg.interval`.
    pub fn keep_retention(
        &self,
        cfg: RetentionConfig,
        clock: crate::clock::Clock,
        purged_rows: prometheus::IntCounterVec,
        cancel: CancellationToken,
    ) -> JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let first = tokio::time::Instant::now() + Duration::from_secs(60);
            let mut every = tokio::time::interval_at(first, cfg.interval);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    _ = every.tick() => {}
                }
                let count =
                    |t: Table, n: usize| purged_rows.with_label_values(&[t.as_str()]).inc_by(n as u64);
                match store.purge(&cfg, clock.now_ms(), count).await {
                    Ok(p) => tracing::info!(
                        alerts = p.of(Table::Alerts),
                        audit = p.of(Table::Audit),
                        callbacks = p.of(Table::Callbacks),
                        faults = p.of(Table::Faults),
                        "retention purge done"
                    ),
                    // Closed at shutdown; anything else is retried tomorrow.
                    Err(e) => tracing::warn!(error = %e, "retention purge failed"),
                }
            }
        })
    }
}

/// A log the engine feeds a round at a time (the call log, the agent state
/// log): how a round is kept and how its old rows go. [`keep_log`] is the
/// writer task both run on.
pub(crate) trait EngineLog: Send + 'static {
    type Item: Send + 'static;
    /// What the log lines call it ("call log", "agent state log").
    const WHAT: &'static str;
    fn save(
        store: &StoreHandle,
        items: Vec<Self::Item>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes the rows older than `before_ms`; how many went.
    fn purge(store: &StoreHandle, before_ms: i64) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// The writer of an engine-fed log: each round the engine hands over is kept
/// (what queued meanwhile joins it in one transaction), and rows older than
/// `keep_days` (0: forever) go once a day of `now_ms`. The engine never waits
/// for a COMMIT: the channel is bounded and lossless, this task drains it. Ends
/// when the engine's sender is gone and everything is written.
pub(crate) fn keep_log<L: EngineLog>(
    store: StoreHandle,
    mut rx: mpsc::Receiver<Vec<L::Item>>,
    keep_days: u32,
    now_ms: impl Fn() -> i64 + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut rounds = Vec::with_capacity(64);
        let mut next_purge = now_ms();
        loop {
            if rx.recv_many(&mut rounds, 64).await == 0 {
                break;
            }
            let items: Vec<L::Item> = rounds.drain(..).flatten().collect();
            let n = items.len();
            if let Err(e) = L::save(&store, items).await {
                tracing::warn!(error = %e, rows = n, log = L::WHAT, "cannot keep a round of the log");
            }
            let now = now_ms();
            if keep_days > 0 && now >= next_purge {
                next_purge = now + DAY_MS;
                match L::purge(&store, now - i64::from(keep_days) * DAY_MS).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, log = L::WHAT, "log purged"),
                    Err(e) => tracing::warn!(error = %e, log = L::WHAT, "cannot purge the log"),
                }
            }
        }
    })
}
