//! Scrape-time gauges from the latest floor snapshot.
//!
//! Built fresh at every scrape from `Arc<Snapshot>` (a pointer copy under the watch
//! lock, nothing held while encoding), so a queue or team that disappears takes its
//! series with it and the engine never spends time on gauges between scrapes.

use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, Opts};
use tokio::sync::watch;

use crate::event::AgentState;
use crate::floor::Snapshot;

/// Alert kinds of contract §5; `floorwatch_alerts_firing` reports each, zero until
/// an alert of that kind fires.
pub const ALERT_KINDS: [&str; 6] =
    ["acw_overrun", "busy_overrun", "traffic_surge", "answer_rate_low", "source_down", "system_fault"];

struct Spec {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
}

const SPECS: &[Spec] = &[
    Spec {
        name: "floorwatch_calls_waiting",
        help: "Calls in queue now (offered, not yet answered or abandoned).",
        labels: &["queue"],
    },
    Spec {
        name: "floorwatch_queue_longest_wait_seconds",
        help: "Wait of the longest-waiting call in queue now: now minus its offer time; 0 when nobody waits.",
        labels: &["queue"],
    },
    Spec {
        name: "floorwatch_queue_window_calls",
        help: "Calls over the window by outcome: offered (by offer time), answered (by answer time), abandoned and abandoned_short (by abandon time; short = waited less than short_abandon_secs).",
        labels: &["queue", "window", "outcome"],
    },
    Spec {
        name: "floorwatch_queue_answer_rate",
        help: "Answer rate (接通率) over the window: answered / (answered + abandoned - short abandons), calls counted by outcome time; absent when the denominator is 0.",
        labels: &["queue", "window"],
    },
    Spec {
        name: "floorwatch_queue_service_level",
        help: "Service level over the window: answered within T / (answered + abandoned - short abandons) in the default sl_abandons=count variant; ignore: / answered; exclude_within_threshold: / (answered + abandoned after T); met_within_threshold: (answered within T + abandoned within T) / (answered + abandoned). Answers with no known offer are left out. Absent when the denominator is 0.",
        labels: &["queue", "window"],
    },
    Spec {
        name: "floorwatch_queue_asa_seconds",
        help: "Average speed of answer over the window: sum of waits of answered calls / answered calls with a known wait.",
        labels: &["queue", "window"],
    },
    Spec {
        name: "floorwatch_queue_service_level_target",
        help: "Configured service-level target, ratio 0-1.",
        labels: &["queue"],
    },
    Spec {
        name: "floorwatch_queue_service_level_threshold_seconds",
        help: "Configured service-level threshold T, seconds.",
        labels: &["queue"],
    },
    Spec { name: "floorwatch_agents", help: "Logged-in agents by state.", labels: &["state"] },
    Spec {
        name: "floorwatch_team_agents",
        help: "Logged-in agents by team and state.",
        labels: &["team", "state"],
    },
    Spec { name: "floorwatch_alerts_firing", help: "Alerts firing now, by kind.", labels: &["kind"] },
    Spec {
        name: "floorwatch_faults_active",
        help: "Components currently reported down by a fault event (1 per component).",
        labels: &["component"],
    },
    Spec {
        name: "floorwatch_ingest_sources_connected",
        help: "Event sources with at least one open ingest connection.",
        labels: &[],
    },
    Spec {
        name: "floorwatch_snapshot_timestamp_seconds",
        help: "Floor time (Unix seconds) of the snapshot these gauges were read from.",
        labels: &[],
    },
];

pub struct FloorCollector {
    snapshot: watch::Receiver<Arc<Snapshot>>,
    descs: Vec<Desc>,
}

impl FloorCollector {
    pub fn new(snapshot: watch::Receiver<Arc<Snapshot>>) -> FloorCollector {
        let descs =
            SPECS.iter().flat_map(|s| make(s).desc().into_iter().cloned().collect::<Vec<_>>()).collect();
        FloorCollector { snapshot, descs }
    }
}

fn make(spec: &Spec) -> GaugeVec {
    // Names and labels are compile-time constants checked by a unit test.
    GaugeVec::new(Opts::new(spec.name, spec.help), spec.labels).expect("static metric definition")
}

impl Collector for FloorCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let snap = self.snapshot.borrow().clone();
        let v: Vec<GaugeVec> = SPECS.iter().map(make).collect();
        let [
            waiting,
            longest,
            window_calls,
            answer_rate,
            sl,
            asa,
            target,
            threshold,
            agents,
            team_agents,
            alerts,
            faults,
            sources,
            ts,
        ] = &v[..]
        else {
            return Vec::new();
        };
        let now = snap.taken_at;
        for q in &snap.queues {
            let id = &*q.id;
            waiting.with_label_values(&[id]).set(q.waiting.len() as f64);
            longest.with_label_values(&[id]).set(q.longest_wait_ms(now) as f64 / 1000.0);
            target.with_label_values(&[id]).set(q.params.sl_target);
            threshold.with_label_values(&[id]).set(f64::from(q.params.sl_threshold_secs));
            for (spec, t) in snap.windows.iter().zip(&q.windows) {
                let w = spec.label.as_str();
                for (outcome, n) in [
                    ("offered", t.offered),
                    ("answered", t.answered),
                    ("abandoned", t.abandoned),
                    ("abandoned_short", t.abandoned_short),
                ] {
                    window_calls.with_label_values(&[id, w, outcome]).set(f64::from(n));
                }
                if let Some(r) = t.answer_rate() {
                    answer_rate.with_label_values(&[id, w]).set(r);
                }
                if let Some(r) = t.service_level(&q.params) {
                    sl.with_label_values(&[id, w]).set(r);
                }
                if let Some(a) = t.asa_secs() {
                    asa.with_label_values(&[id, w]).set(a);
                }
            }
        }
        for s in AgentState::ALL {
            agents.with_label_values(&[s.as_str()]).set(f64::from(snap.agents_in(s)));
        }
        for t in &snap.teams {
            for s in AgentState::ALL {
                team_agents
                    .with_label_values(&[&t.id, s.as_str()])
                    .set(f64::from(t.agents_by_state[s.index()]));
            }
        }
        for k in ALERT_KINDS {
            alerts.with_label_values(&[k]).set(0.0);
        }
        for f in &snap.faults {
            faults.with_label_values(&[&f.component]).set(1.0);
        }
        sources
            .with_label_values::<&str>(&[])
            .set(snap.sources.iter().filter(|s| s.connections > 0).count() as f64);
        ts.with_label_values::<&str>(&[]).set(now as f64 / 1000.0);
        v.iter().flat_map(|g| g.collect()).collect()
    }
}
