//! Every metric floorwatch exports is defined here, once.
//!
//! Counters for things that happen are incremented where they happen, through the
//! typed handles of [`Metrics`]. State (calls waiting, agents by state, windowed
//! answer rate and service level) is read from the latest floor snapshot at scrape
//! time by [`collector::FloorCollector`], so a queue or agent that goes away takes
//! its series with it. There is no global registry: `app` makes one and passes it.

pub mod collector;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::event::EVENT_TYPES;
use crate::floor::Anomaly;
use crate::ingest::RejectReason;

/// Wait-time histogram buckets, seconds: dense around common SL thresholds (20, 30,
/// 60 s) so `histogram_quantile` is meaningful where floors set their targets.
pub const WAIT_BUCKETS: &[f64] = &[5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0];

pub struct Metrics {
    pub registry: Registry,
    /// `floorwatch_events_total{type}`, indexed by `EventKind::type_index`.
    pub events: Vec<IntCounter>,
    /// `floorwatch_events_rejected_total{reason}`, indexed by `RejectReason::index`.
    pub rejected: Vec<IntCounter>,
    pub anomalies: Vec<IntCounter>,
    pub frames: IntCounter,
    pub connections: IntGauge,
    pub connections_total: IntCounter,
    pub connections_refused: IntCounterVec,
    pub seq_gaps: IntCounter,
    pub seq_missing: IntCounter,
    pub ingest_lag: Histogram,
    pub engine_batch_seconds: Histogram,
    /// `floorwatch_alerts_firing{kind}`, set by the alert task that owns alert state.
    pub alerts_firing: IntGaugeVec,
    pub alerts_acknowledged: IntGaugeVec,
    offered: IntCounterVec,
    answered: IntCounterVec,
    abandoned: IntCounterVec,
    wait: HistogramVec,
}

/// Per-queue handles, resolved once when the queue appears so the engine's hot
/// path does no label hashing.
#[derive(Clone)]
pub struct QueueMetrics {
    pub offered: IntCounter,
    pub answered: IntCounter,
    pub abandoned: IntCounter,
    pub wait_answered: Histogram,
    pub wait_abandoned: Histogram,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let events_vec = IntCounterVec::new(
            Opts::new(
                "floorwatch_events_total",
                "Events fully processed (floor state updated), by event type. The sum is the number of accepted events.",
            ),
            &["type"],
        )
        .expect("static metric definition");
        let rejected_vec = IntCounterVec::new(
            Opts::new(
                "floorwatch_events_rejected_total",
                "Events (or whole frames) refused at ingest, by reason; duplicates by seq are reason=duplicate.",
            ),
            &["reason"],
        )
        .expect("static metric definition");
        let anomalies_vec = IntCounterVec::new(
            Opts::new(
                "floorwatch_event_anomalies_total",
                "Accepted events the floor could not fully use (stale agent event, duplicate offer or outcome, end of unknown call, expired call, queue overflow), by kind.",
            ),
            &["kind"],
        )
        .expect("static metric definition");
        let frames =
            IntCounter::new("floorwatch_ingest_frames_total", "WebSocket text frames received on ingest.")
                .expect("static metric definition");
        let connections =
            IntGauge::new("floorwatch_ingest_connections", "Open ingest WebSocket connections.")
                .expect("static metric definition");
        let connections_total = IntCounter::new(
            "floorwatch_ingest_connections_total",
            "Ingest WebSocket connections accepted since start.",
        )
        .expect("static metric definition");
        let connections_refused = IntCounterVec::new(
            Opts::new(
                "floorwatch_ingest_connections_refused_total",
                "Ingest handshakes refused, by reason (unauthorized, not_loopback, too_many).",
            ),
            &["reason"],
        )
        .expect("static metric definition");
        let seq_gaps = IntCounter::new(
            "floorwatch_ingest_seq_gaps_total",
            "Times a source's seq jumped by more than one (events lost upstream).",
        )
        .expect("static metric definition");
        let seq_missing = IntCounter::new(
            "floorwatch_ingest_seq_missing_total",
            "Sequence numbers skipped in those gaps (an estimate of events lost upstream).",
        )
        .expect("static metric definition");
        let ingest_lag = Histogram::with_opts(
            HistogramOpts::new(
                "floorwatch_ingest_lag_seconds",
                "Delay from an event's ts to its processing by the floor engine (negative lags count as 0).",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0]),
        )
        .expect("static metric definition");
        let engine_batch_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "floorwatch_engine_batch_seconds",
                "Time the floor engine spends applying one ingest batch.",
            )
            .buckets(vec![0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1]),
        )
        .expect("static metric definition");
        let alerts_firing = IntGaugeVec::new(
            Opts::new("floorwatch_alerts_firing", "Alerts firing now (not yet acknowledged), by kind."),
            &["kind"],
        )
        .expect("static metric definition");
        let alerts_acknowledged = IntGaugeVec::new(
            Opts::new(
                "floorwatch_alerts_acknowledged",
                "Alerts acknowledged whose condition still holds, by kind.",
            ),
            &["kind"],
        )
        .expect("static metric definition");
        for k in crate::rules::Kind::ALL {
            alerts_firing.with_label_values(&[k.as_str()]);
            alerts_acknowledged.with_label_values(&[k.as_str()]);
        }
        let offered = IntCounterVec::new(
            Opts::new(
                "floorwatch_calls_offered_total",
                "Calls offered to a queue (counted once per call id).",
            ),
            &["queue"],
        )
        .expect("static metric definition");
        let answered = IntCounterVec::new(
            Opts::new(
                "floorwatch_calls_answered_total",
                "Calls answered by an agent (counted once per call id).",
            ),
            &["queue"],
        )
        .expect("static metric definition");
        let abandoned = IntCounterVec::new(
            Opts::new(
                "floorwatch_calls_abandoned_total",
                "Calls abandoned while waiting, short abandons included (counted once per call id).",
            ),
            &["queue"],
        )
        .expect("static metric definition");
        let wait = HistogramVec::new(
            HistogramOpts::new(
                "floorwatch_queue_wait_seconds",
                "Time calls waited in queue (answer or abandon time minus offer time), by outcome.",
            )
            .buckets(WAIT_BUCKETS.to_vec()),
            &["queue", "outcome"],
        )
        .expect("static metric definition");

        let events = EVENT_TYPES.iter().map(|t| events_vec.with_label_values(&[t])).collect();
        let rejected =
            RejectReason::ALL.iter().map(|r| rejected_vec.with_label_values(&[r.as_label()])).collect();
        let anomalies =
            Anomaly::ALL.iter().map(|a| anomalies_vec.with_label_values(&[a.as_label()])).collect();
        for reason in ["unauthorized", "not_loopback", "too_many"] {
            connections_refused.with_label_values(&[reason]);
        }

        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(events_vec),
            Box::new(rejected_vec),
            Box::new(anomalies_vec),
            Box::new(frames.clone()),
            Box::new(connections.clone()),
            Box::new(connections_total.clone()),
            Box::new(connections_refused.clone()),
            Box::new(seq_gaps.clone()),
            Box::new(seq_missing.clone()),
            Box::new(ingest_lag.clone()),
            Box::new(engine_batch_seconds.clone()),
            Box::new(alerts_firing.clone()),
            Box::new(alerts_acknowledged.clone()),
            Box::new(offered.clone()),
            Box::new(answered.clone()),
            Box::new(abandoned.clone()),
            Box::new(wait.clone()),
        ];
        for c in collectors {
            registry.register(c).expect("metric names are unique");
        }
        Metrics {
            registry,
            events,
            rejected,
            anomalies,
            frames,
            connections,
            connections_total,
            connections_refused,
            seq_gaps,
            seq_missing,
            ingest_lag,
            engine_batch_seconds,
            alerts_firing,
            alerts_acknowledged,
            offered,
            answered,
            abandoned,
            wait,
        }
    }

    pub fn reject(&self, reason: RejectReason) {
        self.rejected[reason.index()].inc();
    }

    pub fn queue(&self, queue: &str) -> QueueMetrics {
        QueueMetrics {
            offered: self.offered.with_label_values(&[queue]),
            answered: self.answered.with_label_values(&[queue]),
            abandoned: self.abandoned.with_label_values(&[queue]),
            wait_answered: self.wait.with_label_values(&[queue, "answered"]),
            wait_abandoned: self.wait.with_label_values(&[queue, "abandoned"]),
        }
    }

    /// Text exposition of everything registered.
    pub fn render(&self) -> String {
        let families = self.registry.gather();
        prometheus::TextEncoder::new().encode_to_string(&families).unwrap_or_else(|e| {
            tracing::error!(error = %e, "metrics encoding failed");
            String::new()
        })
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Push counters, labelled by receiver.
#[derive(Clone)]
pub struct NotifyMetrics {
    pub sent: IntCounterVec,
    pub failed: IntCounterVec,
    pub dropped: IntCounterVec,
    pub retried: IntCounterVec,
}

impl NotifyMetrics {
    pub fn new() -> NotifyMetrics {
        let vec = |name: &str, help: &str| {
            IntCounterVec::new(Opts::new(name, help), &["receiver"]).expect("static metric options are valid")
        };
        NotifyMetrics {
            sent: vec("floorwatch_notify_sent_total", "Pushes delivered, by receiver."),
            failed: vec("floorwatch_notify_failed_total", "Pushes given up on after retries, by receiver."),
            dropped: vec("floorwatch_notify_dropped_total", "Pushes dropped because the queue was full."),
            retried: vec("floorwatch_notify_retries_total", "Push attempts retried, by receiver."),
        }
    }

    pub fn register(&self, r: &prometheus::Registry) -> prometheus::Result<()> {
        for c in [&self.sent, &self.failed, &self.dropped, &self.retried] {
            r.register(Box::new(c.clone()))?;
        }
        Ok(())
    }
}

impl Default for NotifyMetrics {
    fn default() -> Self {
        NotifyMetrics::new()
    }
}
