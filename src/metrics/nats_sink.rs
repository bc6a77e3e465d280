//! The NATS sink's counters (`notify::nats`), defined here with every other
//! metric and registered on the daemon's registry.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// The sink's counters, registered on the daemon's registry.
#[derive(Clone)]
pub struct NatsSinkMetrics {
    /// `floorwatch_nats_sink_published_total{topic}`: `alerts` or `incidents`.
    pub published: IntCounterVec,
    /// Alert changes the broadcast dropped before this task read them.
    pub lagged: IntCounter,
    pub resyncs: IntCounter,
    pub link_failures: IntCounter,
    pub up: IntGauge,
}

impl NatsSinkMetrics {
    pub fn new() -> NatsSinkMetrics {
        let published = IntCounterVec::new(
            Opts::new("floorwatch_nats_sink_published_total", "Changes the NATS sink published, by topic."),
            &["topic"],
        )
        .expect("valid metric");
        for t in ["alerts", "incidents"] {
            published.with_label_values(&[t]);
        }
        let counter = |n: &str, h: &str| IntCounter::new(n, h).expect("valid metric");
        NatsSinkMetrics {
            published,
            lagged: counter(
                "floorwatch_nats_sink_lagged_total",
                "Alert changes the NATS sink missed on the lossy broadcast (each lag is followed by a resync).",
            ),
            resyncs: counter(
                "floorwatch_nats_sink_resyncs_total",
                "Snapshots of the open alerts and incidents the NATS sink published (new link or lag).",
            ),
            link_failures: counter(
                "floorwatch_nats_sink_link_failures_total",
                "NATS sink connects that failed and links that were lost.",
            ),
            up: IntGauge::new("floorwatch_nats_sink_up", "1 while the NATS sink's link is up.")
                .expect("valid metric"),
        }
    }

    pub fn register(&self, r: &Registry) -> prometheus::Result<()> {
        r.register(Box::new(self.published.clone()))?;
        r.register(Box::new(self.lagged.clone()))?;
        r.register(Box::new(self.resyncs.clone()))?;
        r.register(Box::new(self.link_failures.clone()))?;
        r.register(Box::new(self.up.clone()))
    }
}

impl Default for NatsSinkMetrics {
    fn default() -> Self {
        Self::new()
    }
}
