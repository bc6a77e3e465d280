//! The `nats` source's metrics (`ingest::nats`), defined here with every other
//! metric and registered on the daemon's registry. Labels are configured
//! values only (a source's id, its subjects), so they are bounded by the config.
//!
//! Per source and subject (one consumer each): messages applied, redeliveries
//! skipped, the consumer's pending count. Per source (one link each): `up`,
//! link failures, expiry gaps and streams found made anew.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// The source's metric families, registered on the daemon's registry whether or
/// not a `nats` source is configured (no series until one is).
#[derive(Clone)]
pub struct NatsSourceMetrics {
    applied: IntCounterVec,
    redelivered: IntCounterVec,
    pending: IntGaugeVec,
    up: IntGaugeVec,
    link_failures: IntCounterVec,
    expired: IntCounterVec,
    resets: IntCounterVec,
}

/// One source's handles, resolved once when its task starts.
#[derive(Clone)]
pub struct SourceMetrics {
    /// `floorwatch_nats_source_up{source}`: 1 while every consumer is positioned and pulling.
    pub up: IntGauge,
    pub link_failures: IntCounter,
    /// Consumers positioned past messages the stream had already expired (one per gap).
    pub expired: IntCounter,
    /// Consumers that found the stream newer than the floor's mark (made anew)
    /// and read it from its start.
    pub resets: IntCounter,
    /// In the order of the source's `subjects`.
    pub subjects: Vec<SubjectMetrics>,
}

/// One consumer's handles.
#[derive(Clone)]
pub struct SubjectMetrics {
    pub applied: IntCounter,
    pub redelivered: IntCounter,
    pub pending: Pending,
}

/// `floorwatch_nats_source_pending{source,subject}`: the consumer's
/// `num_pending` as the server last told it. No series until it first has
/// (a 0 it never read would claim a drained consumer).
#[derive(Clone)]
pub struct Pending {
    vec: IntGaugeVec,
    labels: [String; 2],
}

impl Pending {
    pub fn set(&self, n: u64) {
        let [source, subject] = &self.labels;
        self.vec.with_label_values(&[source, subject]).set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

impl NatsSourceMetrics {
    pub fn new() -> NatsSourceMetrics {
        let by_subject = ["source", "subject"];
        let counter = |n: &str, h: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(n, h), labels).expect("valid metric")
        };
        NatsSourceMetrics {
            applied: counter(
                "floorwatch_nats_source_applied_total",
                "JetStream messages the NATS source handed to the floor, by source and subject (consumer).",
                &by_subject,
            ),
            redelivered: counter(
                "floorwatch_nats_source_redelivered_total",
                "JetStream messages delivered again at or below the applied mark: acked and skipped.",
                &by_subject,
            ),
            pending: IntGaugeVec::new(
                Opts::new(
                    "floorwatch_nats_source_pending",
                    "Messages the consumer has not delivered yet (num_pending), refreshed at each keepalive.",
                ),
                &by_subject,
            )
            .expect("valid metric"),
            up: IntGaugeVec::new(
                Opts::new(
                    "floorwatch_nats_source_up",
                    "1 while the NATS source's link is up with every consumer positioned.",
                ),
                &["source"],
            )
            .expect("valid metric"),
            link_failures: counter(
                "floorwatch_nats_source_link_failures_total",
                "NATS source connects that failed and links that were lost (retried with backoff).",
                &["source"],
            ),
            expired: counter(
                "floorwatch_nats_source_expired_total",
                "Times a consumer was positioned after its checkpointed sequence while the stream's first \
                 sequence was further on: messages expired (max_age, max_msgs, max_bytes) before the floor \
                 read them. Counts occurrences (one per consumer and gap), not messages; the log gives the range.",
                &["source"],
            ),
            resets: counter(
                "floorwatch_nats_source_stream_resets_total",
                "Times a consumer found the stream's last sequence below the floor's checkpointed one (the \
                 stream was deleted and made anew) and read the new stream from its start.",
                &["source"],
            ),
        }
    }

    /// The handles of source `id` with its `subjects`, every series at 0 but
    /// the pending counts (there once read).
    pub fn source(&self, id: &str, subjects: &[String]) -> SourceMetrics {
        SourceMetrics {
            up: self.up.with_label_values(&[id]),
            link_failures: self.link_failures.with_label_values(&[id]),
            expired: self.expired.with_label_values(&[id]),
            resets: self.resets.with_label_values(&[id]),
            subjects: subjects
                .iter()
                .map(|s| SubjectMetrics {
                    applied: self.applied.with_label_values(&[id, s]),
                    redelivered: self.redelivered.with_label_values(&[id, s]),
                    pending: Pending { vec: self.pending.clone(), labels: [id.to_owned(), s.clone()] },
                })
                .collect(),
        }
    }

    pub fn register(&self, r: &Registry) -> prometheus::Result<()> {
        r.register(Box::new(self.applied.clone()))?;
        r.register(Box::new(self.redelivered.clone()))?;
        r.register(Box::new(self.pending.clone()))?;
        r.register(Box::new(self.up.clone()))?;
        r.register(Box::new(self.link_failures.clone()))?;
        r.register(Box::new(self.expired.clone()))?;
        r.register(Box::new(self.resets.clone()))
    }
}

impl Default for NatsSourceMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Encoder;

    fn text(r: &Registry) -> String {
        let mut buf = Vec::new();
        prometheus::TextEncoder::new().encode(&r.gather(), &mut buf).expect("encode");
        String::from_utf8(buf).expect("utf-8")
    }

    #[test]
    fn a_source_has_its_series_at_zero_and_subjects_stay_apart() {
        let r = Registry::new();
        let m = NatsSourceMetrics::new();
        m.register(&r).expect("register");
        assert!(!text(&r).contains("floorwatch_nats_source"), "no source, no series");
        let s = m.source("site-a", &["floor.a.>".into(), "floor.b.>".into()]);
        let t = text(&r);
        for series in [
            r#"floorwatch_nats_source_applied_total{source="site-a",subject="floor.a.>"} 0"#,
            r#"floorwatch_nats_source_redelivered_total{source="site-a",subject="floor.b.>"} 0"#,
            r#"floorwatch_nats_source_up{source="site-a"} 0"#,
            r#"floorwatch_nats_source_link_failures_total{source="site-a"} 0"#,
            r#"floorwatch_nats_source_expired_total{source="site-a"} 0"#,
            r#"floorwatch_nats_source_stream_resets_total{source="site-a"} 0"#,
        ] {
            assert!(t.contains(series), "{series} missing in:\n{t}");
        }
        assert!(!t.contains("floorwatch_nats_source_pending"), "pending is there once read: {t}");
        s.subjects[1].applied.inc_by(3);
        s.subjects[0].pending.set(7);
        s.expired.inc();
        let t = text(&r);
        assert!(
            t.contains(r#"floorwatch_nats_source_applied_total{source="site-a",subject="floor.b.>"} 3"#),
            "{t}"
        );
        assert!(
            t.contains(r#"floorwatch_nats_source_applied_total{source="site-a",subject="floor.a.>"} 0"#),
            "{t}"
        );
        assert!(
            t.contains(r#"floorwatch_nats_source_pending{source="site-a",subject="floor.a.>"} 7"#),
            "{t}"
        );
        assert!(t.contains(r#"floorwatch_nats_source_expired_total{source="site-a"} 1"#), "{t}");
        assert!(!t.contains(r#"floorwatch_nats_source_pending{source="site-a",subject="floor.b.>"}"#), "{t}");
        s.subjects[0].pending.set(0);
        assert!(
            text(&r).contains(r#"floorwatch_nats_source_pending{source="site-a",subject="floor.a.>"} 0"#)
        );
    }
}
