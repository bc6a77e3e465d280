//! The counters only ingest bumps, registered on the daemon's one registry (like
//! `notify::NotifyMetrics` and `metrics::IncidentMetrics`), so that `metrics`
//! need not know ingest's reasons and ingest need not know the floor's metrics.
//! Every known label value is created at start, so its series is there at 0
//! before the first occurrence.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use super::RejectReason;

/// Why a source was refused before it could send anything: the `reason` label of
/// `floorwatch_ingest_connections_refused_total`, bounded by this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefuseReason {
    Unauthorized,
    NotLoopback,
    TooMany,
    /// A bridge's token is bound to another source than the one it asked for.
    WrongSource,
}

impl RefuseReason {
    pub const ALL: [RefuseReason; 4] = [
        RefuseReason::Unauthorized,
        RefuseReason::NotLoopback,
        RefuseReason::TooMany,
        RefuseReason::WrongSource,
    ];

    pub fn as_label(self) -> &'static str {
        match self {
            RefuseReason::Unauthorized => "unauthorized",
            RefuseReason::NotLoopback => "not_loopback",
            RefuseReason::TooMany => "too_many",
            RefuseReason::WrongSource => "wrong_source",
        }
    }

    /// Dense index, in [`RefuseReason::ALL`] order.
    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone)]
pub struct IngestMetrics {
    /// `floorwatch_events_rejected_total{reason}`, indexed by `RejectReason::index`.
    pub rejected: Vec<IntCounter>,
    rejected_vec: IntCounterVec,
    pub frames: IntCounter,
    pub connections: IntGauge,
    pub connections_total: IntCounter,
    /// `floorwatch_ingest_connections_refused_total{reason}`, in `RefuseReason::ALL` order.
    refused: Vec<IntCounter>,
    refused_vec: IntCounterVec,
    pub seq_gaps: IntCounter,
    pub seq_missing: IntCounter,
    throttled: IntCounter,
    throttled_seconds: prometheus::Counter,
}

impl IngestMetrics {
    pub fn new() -> IngestMetrics {
        let rejected_vec = IntCounterVec::new(
            Opts::new(
                "floorwatch_events_rejected_total",
                "Events (or whole frames) refused at ingest, by reason; duplicates by seq are reason=duplicate.",
            ),
            &["reason"],
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
        let refused_vec = IntCounterVec::new(
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
        let throttled = IntCounter::new(
            "floorwatch_ingest_throttled_total",
            "Times an ingest connection's reads were paused for sending above limits.per_connection_events_per_sec.",
        )
        .expect("static metric definition");
        let throttled_seconds = prometheus::Counter::new(
            "floorwatch_ingest_throttled_seconds_total",
            "Time ingest connections' reads spent paused by their rate limit, seconds (summed over connections).",
        )
        .expect("static metric definition");
        let rejected =
            RejectReason::ALL.iter().map(|r| rejected_vec.with_label_values(&[r.as_label()])).collect();
        let refused =
            RefuseReason::ALL.iter().map(|r| refused_vec.with_label_values(&[r.as_label()])).collect();
        IngestMetrics {
            rejected,
            rejected_vec,
            frames,
            connections,
            connections_total,
            refused,
            refused_vec,
            seq_gaps,
            seq_missing,
            throttled,
            throttled_seconds,
        }
    }

    pub fn register(&self, r: &Registry) -> prometheus::Result<()> {
        r.register(Box::new(self.rejected_vec.clone()))?;
        r.register(Box::new(self.frames.clone()))?;
        r.register(Box::new(self.connections.clone()))?;
        r.register(Box::new(self.connections_total.clone()))?;
        r.register(Box::new(self.refused_vec.clone()))?;
        r.register(Box::new(self.seq_gaps.clone()))?;
        r.register(Box::new(self.seq_missing.clone()))?;
        r.register(Box::new(self.throttled.clone()))?;
        r.register(Box::new(self.throttled_seconds.clone()))
    }

    /// The `floorwatch_events_rejected_total` family, for the floor's refusals,
    /// which the counting task counts under their own labels here.
    pub fn rejected_family(&self) -> &IntCounterVec {
        &self.rejected_vec
    }

    /// `floorwatch_ingest_throttled_total` and its seconds: how often and how
    /// long connections' reads were paused for sending above their rate.
    pub fn throttled(&self, paused: std::time::Duration) {
        self.throttled.inc();
        self.throttled_seconds.inc_by(paused.as_secs_f64());
    }

    pub fn reject(&self, reason: RejectReason) {
        self.rejected[reason.index()].inc();
    }

    pub fn refuse(&self, reason: RefuseReason) {
        self.refused[reason.index()].inc();
    }
}

impl Default for IngestMetrics {
    fn default() -> Self {
        IngestMetrics::new()
    }
}

/// `serve --record`'s counters, bumped by the recorder's writer thread.
/// Registered whether or not the daemon records, so a dashboard can tell "not
/// recording" (all 0) from "no such daemon".
#[derive(Clone)]
pub struct RecordMetrics {
    /// Event lines written (one per accepted event).
    pub lines: IntCounter,
    /// Bytes of those lines.
    pub bytes: IntCounter,
    /// Parts closed for the next one (a new day, or `max_bytes` reached).
    pub rotations: IntCounter,
    /// Failures to open or write a part. The first one stops the recorder, which
    /// shuts the daemon down: the counter says why before it goes.
    pub write_errors: IntCounter,
}

impl RecordMetrics {
    pub fn new() -> RecordMetrics {
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("static metric definition");
        RecordMetrics {
            lines: counter("floorwatch_record_lines_total", "Event lines `serve --record` has written."),
            bytes: counter(
                "floorwatch_record_bytes_total",
                "Bytes of event lines `serve --record` has written.",
            ),
            rotations: counter(
                "floorwatch_record_rotations_total",
                "Recording parts closed for the next one (a new day, or the part's size reached).",
            ),
            write_errors: counter(
                "floorwatch_record_write_errors_total",
                "Failures to open or write a recording part (the first stops the recorder and the daemon).",
            ),
        }
    }

    pub fn register(&self, r: &Registry) -> prometheus::Result<()> {
        r.register(Box::new(self.lines.clone()))?;
        r.register(Box::new(self.bytes.clone()))?;
        r.register(Box::new(self.rotations.clone()))?;
        r.register(Box::new(self.write_errors.clone()))
    }
}

impl Default for RecordMetrics {
    fn default() -> Self {
        RecordMetrics::new()
    }
}
