//! Every metric floorwatch exports is defined here, once.
//!
//! Counters for things that happen are incremented where they happen, through the
//! typed handles of [`Metrics`] (ingest's own counters are `ingest::IngestMetrics`,
//! registered on the same registry). State (calls waiting, agents by state, windowed
//! answer rate and service level) is read from the latest floor snapshot at scrape
//! time by [`collector::FloorCollector`], so a queue or agent that goes away takes
//! its series with it. There is no global registry: `app` makes one and passes it.

pub mod collector;
pub mod counting;
pub mod nats_sink;
pub mod nats_source;
pub mod work;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::event::EVENT_TYPES;
use crate::floor::{Anomaly, QueueParams, Refusal, SlAbandons};

/// Wait-time histogram buckets, seconds: dense around common SL thresholds (20, 30,
/// 60 s) so `histogram_quantile` is meaningful where floors set their targets.
pub const WAIT_BUCKETS: &[f64] = &[5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0];

/// Talk-time buckets, seconds: a few minutes is typical for inbound service calls,
/// and the long tail (complaints, escalations) matters for staffing.
pub const TALK_BUCKETS: &[f64] =
    &[15.0, 30.0, 60.0, 90.0, 120.0, 180.0, 240.0, 300.0, 420.0, 600.0, 900.0, 1800.0, 3600.0];

/// After-call-work buckets, seconds: 120 is the default `acw_overrun_secs`, so the
/// share of ACW past the overrun limit is one bucket away.
pub const ACW_BUCKETS: &[f64] =
    &[5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 240.0, 300.0, 600.0];

/// The `queue` label of talk and ACW times whose agent names no queue floorwatch
/// knows (so an agent's free-text queue cannot add series).
pub const NO_QUEUE: &str = "__none__";

pub struct Metrics {
    pub registry: Registry,
    /// `floorwatch_events_total{type}`, indexed by `EventKind::type_index`.
    pub events: Vec<IntCounter>,
    pub anomalies: Vec<IntCounter>,
    /// Events the floor refused at its limits, by `Refusal::index`: series of
    /// ingest's `floorwatch_events_rejected_total`, handed over with
    /// [`Metrics::count_refusals_in`] (one metric holds every refusal).
    pub refused: Vec<IntCounter>,
    pub ingest_lag: Histogram,
    pub engine_batch_seconds: Histogram,
    /// Engine time spent copying the floor into a checkpoint (ingest waits
    /// meanwhile: the one part of a checkpoint on the engine).
    pub checkpoint_build_seconds: Histogram,
    /// Saver time to encode, seal and commit one checkpoint (off the engine).
    pub checkpoint_save_seconds: Histogram,
    /// Size of the last checkpoint saved.
    pub checkpoint_bytes: IntGauge,
    /// Unix time of the last checkpoint committed (0: none yet).
    pub checkpoint_last_success: prometheus::Gauge,
    /// `floorwatch_alerts_firing{kind}`, set by the alert task that owns alert state.
    pub alerts_firing: IntGaugeVec,
    pub alerts_acknowledged: IntGaugeVec,
    /// `floorwatch_store_rows_purged_total{table}`: rows the retention purge deleted.
    pub rows_purged: IntCounterVec,
    /// `floorwatch_config_reloads_total`: SIGHUP reloads that swapped the tokens.
    pub config_reloads: IntCounter,
    /// `floorwatch_config_reload_failures_total`: reloads refused (the old tokens stay).
    pub config_reload_failures: IntCounter,
    offered: IntCounterVec,
    answered: IntCounterVec,
    abandoned: IntCounterVec,
    abandoned_short: IntCounterVec,
    sl_met: IntCounterVec,
    sl_excluded: IntCounterVec,
    wait: HistogramVec,
    talk: HistogramVec,
    acw: HistogramVec,
}

/// Per-queue handles, resolved once when the queue appears so the engine's hot
/// path does no label hashing.
#[derive(Clone)]
pub struct QueueMetrics {
    pub offered: IntCounter,
    pub answered: IntCounter,
    abandoned: IntCounter,
    abandoned_short: IntCounter,
    sl_met: IntCounter,
    sl_excluded: IntCounter,
    pub wait_answered: Histogram,
    pub wait_abandoned: Histogram,
    pub work: WorkMetrics,
}

/// Talk and after-call-work histograms of one `queue` label value.
#[derive(Clone)]
pub struct WorkMetrics {
    pub talk: Histogram,
    pub acw: Histogram,
}

impl QueueMetrics {
    /// Counts an abandoned call (its wait, when known, comes through [`QueueMetrics::wait`]).
    pub fn abandoned(&self, p: &QueueParams) {
        self.abandoned.inc();
        // `ignore` leaves every abandon out of the service level, known wait or not.
        if p.sl_abandons == SlAbandons::Ignore {
            self.sl_excluded.inc();
        }
    }

    /// Counts a call's wait once it is known (answer or abandon, and offer): the wait
    /// histogram, and the counters that let Prometheus compute answer rate and
    /// service level exactly as `floor::window::Tally` does, in every `sl_abandons`
    /// variant (the same comparisons: answered within T is `wait <= T`, a short
    /// abandon waited `< short_abandon_secs`, within T is the rest up to T):
    ///
    /// answer rate = answered / (answered + abandoned − abandoned_short);
    /// service level = sl_met / (answered with a known wait + abandoned − sl_excluded).
    pub fn wait(&self, p: &QueueParams, answered: bool, ms: i64) {
        let secs = ms as f64 / 1000.0;
        let sl_ms = i64::from(p.sl_threshold_secs) * 1000;
        if answered {
            self.wait_answered.observe(secs);
            if ms <= sl_ms {
                self.sl_met.inc();
            }
            return;
        }
        self.wait_abandoned.observe(secs);
        let short = ms < i64::from(p.short_abandon_secs) * 1000;
        let within = !short && ms <= sl_ms;
        if short {
            self.abandoned_short.inc();
        }
        match p.sl_abandons {
            SlAbandons::Count => {
                if short {
                    self.sl_excluded.inc();
                }
            }
            SlAbandons::Ignore => {}
            SlAbandons::ExcludeWithinThreshold => {
                if short || within {
                    self.sl_excluded.inc();
                }
            }
            SlAbandons::MetWithinThreshold => {
                if short {
                    self.sl_excluded.inc();
                }
                if within {
                    self.sl_met.inc();
                }
            }
        }
    }
}

/// The source revision, when the build was given one (`FLOORWATCH_REVISION=$(git
/// rev-parse --short HEAD) cargo build`); empty otherwise, which Prometheus
/// shows as no label.
const BUILD_REVISION: &str = match option_env!("FLOORWATCH_REVISION") {
    Some(r) => r,
    None => "",
};

/// The tables the retention purge deletes from (the `table` label's values).
pub const PURGED_TABLES: [&str; 4] = ["alerts", "audit", "callbacks", "faults"];

/// The floor's refusal series of a `floorwatch_events_rejected_total` family,
/// in `Refusal::ALL` order.
fn refusal_counters(rejected: &IntCounterVec) -> Vec<IntCounter> {
    Refusal::ALL.iter().map(|r| rejected.with_label_values(&[r.as_label()])).collect()
}

impl Metrics {
    /// Counts the floor's refusals in `rejected`, ingest's
    /// `floorwatch_events_rejected_total` (whose reasons include the floor's
    /// labels, so their series exist from the start).
    pub fn count_refusals_in(&mut self, rejected: &IntCounterVec) {
        self.refused = refusal_counters(rejected);
    }

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
        let anomalies_vec = IntCounterVec::new(
            Opts::new(
                "floorwatch_event_anomalies_total",
                "Accepted events the floor could not fully use (stale agent event, duplicate offer or outcome, end of unknown call, expired call, queue overflow), by kind.",
            ),
            &["kind"],
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
        let checkpoint_build_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "floorwatch_checkpoint_build_seconds",
                "Time the floor engine spends copying its state into a checkpoint (ingest waits meanwhile).",
            )
            .buckets(vec![0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0]),
        )
        .expect("static metric definition");
        let checkpoint_save_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "floorwatch_checkpoint_seconds",
                "Time to encode, seal and commit one floor checkpoint, off the engine.",
            )
            .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]),
        )
        .expect("static metric definition");
        let checkpoint_bytes = IntGauge::new(
            "floorwatch_checkpoint_bytes",
            "Size of the last floor checkpoint saved, in bytes.",
        )
        .expect("static metric definition");
        let checkpoint_last_success = prometheus::Gauge::new(
            "floorwatch_checkpoint_last_success_timestamp_seconds",
            "Unix time the last floor checkpoint was committed (0 before the first).",
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
        let abandoned_short = IntCounterVec::new(
            Opts::new(
                "floorwatch_calls_abandoned_short_total",
                "Abandoned calls that waited less than the queue's short_abandon_secs (counted once the wait is known). Answer rate (接通率) = answered / (answered + abandoned - abandoned_short).",
            ),
            &["queue"],
        )
        .expect("static metric definition");
        let sl_met = IntCounterVec::new(
            Opts::new(
                "floorwatch_calls_sl_met_total",
                "Calls that met the service level: answered within T of the offer (wait <= sl_threshold_secs); with sl_abandons=met_within_threshold also abandoned within T after short_abandon_secs. Service level = sl_met / (floorwatch_queue_wait_seconds_count{outcome=\"answered\"} + abandoned - sl_excluded).",
            ),
            &["queue"],
        )
        .expect("static metric definition");
        let sl_excluded = IntCounterVec::new(
            Opts::new(
                "floorwatch_calls_sl_excluded_total",
                "Abandoned calls the queue's service level leaves out of its denominator: short abandons; with sl_abandons=exclude_within_threshold every abandon within T; with sl_abandons=ignore every abandon.",
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
        let talk = HistogramVec::new(
            HistogramOpts::new(
                "floorwatch_talk_seconds",
                "Talk time of an agent's call: from entering talking to leaving talking and hold (hold included), by the agent's queue (__none__ when floorwatch knows no such queue).",
            )
            .buckets(TALK_BUCKETS.to_vec()),
            &["queue"],
        )
        .expect("static metric definition");
        let acw = HistogramVec::new(
            HistogramOpts::new(
                "floorwatch_acw_seconds",
                "After-call work (话后处理) time: from entering acw to leaving it, by the agent's queue (__none__ when floorwatch knows no such queue). Average handle time = (talk sum + acw sum) / talk count.",
            )
            .buckets(ACW_BUCKETS.to_vec()),
            &["queue"],
        )
        .expect("static metric definition");

        let events = EVENT_TYPES.iter().map(|t| events_vec.with_label_values(&[t])).collect();
        let anomalies =
            Anomaly::ALL.iter().map(|a| anomalies_vec.with_label_values(&[a.as_label()])).collect();
        // Until `count_refusals_in` wires them to the exported family (benches
        // and unit tests count into these, unregistered).
        let refused = refusal_counters(
            &IntCounterVec::new(Opts::new("floorwatch_events_rejected_total", "unregistered"), &["reason"])
                .expect("static metric definition"),
        );

        // Constant 1: its labels say which build answers (the exporters' convention).
        let build_info = IntGaugeVec::new(
            Opts::new("floorwatch_build_info", "Always 1: the version and source revision of this build."),
            &["version", "revision"],
        )
        .expect("static metric definition");
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION"), BUILD_REVISION]).set(1);
        let rows_purged = IntCounterVec::new(
            Opts::new(
                "floorwatch_store_rows_purged_total",
                "Rows the retention purge deleted, by table (alerts, audit, callbacks, faults).",
            ),
            &["table"],
        )
        .expect("static metric definition");
        for t in PURGED_TABLES {
            rows_purged.with_label_values(&[t]);
        }

        let config_reloads = IntCounter::new(
            "floorwatch_config_reloads_total",
            "Config reloads (SIGHUP) that were valid and swapped the token table in.",
        )
        .expect("static metric definition");
        let config_reload_failures = IntCounter::new(
            "floorwatch_config_reload_failures_total",
            "Config reloads (SIGHUP) refused as invalid or unreadable; the tokens in force stay.",
        )
        .expect("static metric definition");
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(build_info),
            Box::new(config_reloads.clone()),
            Box::new(config_reload_failures.clone()),
            Box::new(rows_purged.clone()),
            Box::new(events_vec),
            Box::new(anomalies_vec),
            Box::new(ingest_lag.clone()),
            Box::new(engine_batch_seconds.clone()),
            Box::new(checkpoint_build_seconds.clone()),
            Box::new(checkpoint_save_seconds.clone()),
            Box::new(checkpoint_bytes.clone()),
            Box::new(checkpoint_last_success.clone()),
            Box::new(alerts_firing.clone()),
            Box::new(alerts_acknowledged.clone()),
            Box::new(offered.clone()),
            Box::new(answered.clone()),
            Box::new(abandoned.clone()),
            Box::new(abandoned_short.clone()),
            Box::new(sl_met.clone()),
            Box::new(sl_excluded.clone()),
            Box::new(wait.clone()),
            Box::new(talk.clone()),
            Box::new(acw.clone()),
        ];
        for c in collectors {
            registry.register(c).expect("metric names are unique");
        }
        // CPU, memory, file descriptors and start time of this process: the
        // `process_*` names every exporter has, so the usual dashboards work.
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
            .expect("process metric names are unique");
        Metrics {
            registry,
            events,
            anomalies,
            refused,
            ingest_lag,
            engine_batch_seconds,
            checkpoint_build_seconds,
            checkpoint_save_seconds,
            checkpoint_bytes,
            checkpoint_last_success,
            alerts_firing,
            alerts_acknowledged,
            rows_purged,
            config_reloads,
            config_reload_failures,
            offered,
            answered,
            abandoned,
            abandoned_short,
            sl_met,
            sl_excluded,
            wait,
            talk,
            acw,
        }
    }

    /// The handles of one queue. Creating them creates its series at 0, so a
    /// configured queue has every series before its first call.
    pub fn queue(&self, queue: &str) -> QueueMetrics {
        QueueMetrics {
            offered: self.offered.with_label_values(&[queue]),
            answered: self.answered.with_label_values(&[queue]),
            abandoned: self.abandoned.with_label_values(&[queue]),
            abandoned_short: self.abandoned_short.with_label_values(&[queue]),
            sl_met: self.sl_met.with_label_values(&[queue]),
            sl_excluded: self.sl_excluded.with_label_values(&[queue]),
            wait_answered: self.wait.with_label_values(&[queue, "answered"]),
            wait_abandoned: self.wait.with_label_values(&[queue, "abandoned"]),
            work: self.work(queue),
        }
    }

    /// Talk and ACW histograms for `queue` (or [`NO_QUEUE`]).
    pub fn work(&self, queue: &str) -> WorkMetrics {
        WorkMetrics { talk: self.talk.with_label_values(&[queue]), acw: self.acw.with_label_values(&[queue]) }
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
    /// Notices sent inside a digest, their receiver over its rate limit.
    pub batched: IntCounterVec,
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
            batched: vec(
                "floorwatch_notify_batched_total",
                "Notices sent together in one digest message because the receiver was over its rate limit.",
            ),
        }
    }

    pub fn register(&self, r: &prometheus::Registry) -> prometheus::Result<()> {
        for c in [&self.sent, &self.failed, &self.dropped, &self.retried, &self.batched] {
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

/// The incident playbook's figures, set by the incidents task (and the HTTP
/// side for call-backs people enter).
#[derive(Clone)]
pub struct IncidentMetrics {
    /// `floorwatch_incidents_open{kind}`: the playbook kind, or `manual`.
    pub open: IntGaugeVec,
    pub opened: IntCounterVec,
    /// `floorwatch_callbacks_logged_total{origin}`: `abandoned` or `manual`.
    pub callbacks: IntCounterVec,
    pub faults_open: IntGauge,
}

impl IncidentMetrics {
    /// With every kind in `kinds` (the configured playbooks) and both origins at
    /// zero, so dashboards and rules see the series before the first incident.
    pub fn new<'a>(kinds: impl IntoIterator<Item = &'a str>) -> IncidentMetrics {
        let open = IntGaugeVec::new(
            Opts::new(
                "floorwatch_incidents_open",
                "Incidents open now, by playbook kind (manual: opened by hand).",
            ),
            &["kind"],
        )
        .expect("static metric definition");
        let opened = IntCounterVec::new(
            Opts::new("floorwatch_incidents_opened_total", "Incidents opened, by playbook kind."),
            &["kind"],
        )
        .expect("static metric definition");
        let callbacks = IntCounterVec::new(
            Opts::new(
                "floorwatch_callbacks_logged_total",
                "Call-back log entries written: abandoned (a caller lost during an incident; a number already \
                 logged in the same incident counts again) or manual (entered by a person).",
            ),
            &["origin"],
        )
        .expect("static metric definition");
        let faults_open = IntGauge::new(
            "floorwatch_faults_open",
            "Fault register entries not yet recovered (fault events and silent sources).",
        )
        .expect("static metric definition");
        for k in kinds {
            open.with_label_values(&[k]);
            opened.with_label_values(&[k]);
        }
        for o in ["abandoned", "manual"] {
            callbacks.with_label_values(&[o]);
        }
        IncidentMetrics { open, opened, callbacks, faults_open }
    }

    pub fn register(&self, r: &prometheus::Registry) -> prometheus::Result<()> {
        r.register(Box::new(self.open.clone()))?;
        r.register(Box::new(self.opened.clone()))?;
        r.register(Box::new(self.callbacks.clone()))?;
        r.register(Box::new(self.faults_open.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind, Id, Ts};
    use crate::floor::QueueConfig;
    use crate::floor::{Effect, Floor, FloorConfig};

    const T0: Ts = 1_795_420_800_000;

    fn ev(secs: i64, kind: EventKind) -> Event {
        Event { ts: T0 + secs * 1000, source: Id::from("test"), seq: None, kind }
    }

    /// Calls of every kind the service-level variants treat differently, for `q`:
    /// answered within and after T, abandoned short, within T and after T, an
    /// abandon whose offer comes late, an abandon and an answer with no offer.
    fn calls(q: &str) -> Vec<Event> {
        let call = |n: &str| Id::from(format!("{q}-{n}"));
        let offer =
            |s, n: &str| ev(s, EventKind::CallOffered { call: call(n), queue: Id::from(q), caller: None });
        let answer = |s, n: &str, queue: Option<&str>| {
            ev(
                s,
                EventKind::CallAnswered { call: call(n), agent: Id::from("A1"), queue: queue.map(Id::from) },
            )
        };
        let abandon = |s, n: &str, queue: Option<&str>| {
            ev(s, EventKind::CallAbandoned { call: call(n), queue: queue.map(Id::from) })
        };
        let mut v = Vec::new();
        for (n, wait) in [("a3", 3), ("a20", 20), ("a21", 21), ("a50", 50)] {
            v.extend([offer(0, n), answer(wait, n, None)]);
        }
        for (n, wait) in [("b2", 2), ("b5", 5), ("b20", 20), ("b30", 30)] {
            v.extend([offer(0, n), abandon(wait, n, None)]);
        }
        // The abandon first (naming its queue), its offer a second later: a short abandon after all.
        v.extend([abandon(60, "late", Some(q)), offer(59, "late")]);
        v.push(abandon(70, "no-offer", Some(q)));
        v.push(answer(75, "no-offer-answer", Some(q)));
        v
    }

    /// The counters, read back as the recording rules combine them, give the
    /// floor's own window figures in every `sl_abandons` variant.
    #[test]
    fn counters_give_the_floor_figures_in_every_service_level_variant() {
        let variants = [
            SlAbandons::Count,
            SlAbandons::Ignore,
            SlAbandons::ExcludeWithinThreshold,
            SlAbandons::MetWithinThreshold,
        ];
        let mut cfg = FloorConfig::default();
        cfg.queues = variants
            .iter()
            .map(|v| {
                let mut params = cfg.queue_defaults;
                params.sl_abandons = *v;
                params.sl_threshold_secs = 20;
                params.short_abandon_secs = 5;
                QueueConfig {
                    id: v.as_str().into(),
                    name: v.as_str().into(),
                    names: Default::default(),
                    params,
                }
            })
            .collect();
        // Through the counting task's own code (the engine's path to these counters).
        let metrics = std::sync::Arc::new(Metrics::new());
        let mut counter = counting::Counter::new(metrics.clone());
        let mut fx = Vec::new();
        let mut floor = Floor::new(&cfg, &mut fx);
        let mut count = |fx: &mut Vec<Effect>| {
            let mut round = counting::Counts::default();
            round.take(fx);
            counter.count(round)
        };
        count(&mut fx);
        for v in &variants {
            for e in calls(v.as_str()) {
                floor.apply(&e, e.ts, &mut fx);
                count(&mut fx);
            }
        }
        let snap = floor.snapshot(T0 + 100_000);
        for q in &snap.queues {
            // The same series the counter updated: handles of one label set share it.
            let m = &metrics.queue(&q.id);
            let (ans, ab) = (m.answered.get() as f64, m.abandoned.get() as f64);
            let answer_rate = ans / (ans + ab - m.abandoned_short.get() as f64);
            let den = m.wait_answered.get_sample_count() as f64 + ab - m.sl_excluded.get() as f64;
            let sl = m.sl_met.get() as f64 / den;
            let t = &q.windows[0];
            assert_eq!(Some(answer_rate), t.answer_rate(), "answer rate, {}", q.id);
            assert_eq!(Some(sl), t.service_level(&q.params), "service level, {}", q.id);
            assert_eq!((ans, ab), (5.0, 6.0), "{}", q.id);
        }
    }
}
