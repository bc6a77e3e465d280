//! Scrape-time gauges from the latest floor snapshot.
//!
//! Built fresh at every scrape from `Arc<Snapshot>` (a pointer copy under the watch
//! lock, nothing held while encoding), so a queue or team that disappears takes its
//! series with it and the engine never spends time on gauges between scrapes.

use std::sync::Arc;

use std::collections::HashMap;

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};
use tokio::sync::watch;

use crate::event::AgentState;
use crate::floor::Snapshot;

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
    Spec {
        name: "floorwatch_agents_not_ready",
        help: "Logged-in agents in not_ready (示忙) by reason: the reasons with a limit in alerts.busy_limit_secs, every other reason (or none) as other. Sums to floorwatch_agents{state=\"not_ready\"}.",
        labels: &["reason"],
    },
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
    /// The `reason` values of `floorwatch_agents_not_ready` besides [`OTHER_REASON`]:
    /// configured, so agents' free-text reasons cannot add series.
    reasons: Vec<String>,
}

/// The `reason` of not-ready agents whose reason is not a configured one.
pub const OTHER_REASON: &str = "other";

impl FloorCollector {
    pub fn new(snapshot: watch::Receiver<Arc<Snapshot>>) -> FloorCollector {
        let descs = SPECS
            .iter()
            .filter_map(|s| {
                let labels = s.labels.iter().map(|l| (*l).to_owned()).collect();
                // Names and labels are compile-time constants checked by a unit test.
                Desc::new(s.name.to_owned(), s.help.to_owned(), labels, HashMap::new()).ok()
            })
            .collect();
        FloorCollector { snapshot, descs, reasons: Vec::new() }
    }

    /// Sets the not-ready reasons reported by name (sorted, deduplicated; `other`
    /// is always there).
    pub fn with_reasons<'a>(mut self, reasons: impl IntoIterator<Item = &'a String>) -> FloorCollector {
        let mut r: Vec<String> = reasons.into_iter().filter(|r| *r != OTHER_REASON).cloned().collect();
        r.sort();
        r.dedup();
        self.reasons = r;
        self
    }
}

/// One gauge family under construction. Built as plain protobuf-model values: a
/// scrape of 1,000 queues makes ~25,000 samples, and going through `GaugeVec`
/// (a hash and a lock per sample) cost most of the scrape.
struct Family {
    spec: &'static Spec,
    mf: MetricFamily,
}

impl Family {
    fn new(spec: &'static Spec) -> Family {
        let mut mf = MetricFamily::default();
        mf.set_name(spec.name.to_owned());
        mf.set_help(spec.help.to_owned());
        mf.set_field_type(MetricType::GAUGE);
        Family { spec, mf }
    }

    fn push(&mut self, values: &[&str], v: f64) {
        debug_assert_eq!(values.len(), self.spec.labels.len());
        let labels = self
            .spec
            .labels
            .iter()
            .zip(values)
            .map(|(name, value)| {
                let mut lp = LabelPair::default();
                lp.set_name((*name).to_owned());
                lp.set_value((*value).to_owned());
                lp
            })
            .collect();
        let mut g = Gauge::default();
        g.set_value(v);
        let mut m = Metric::default();
        m.set_label(labels);
        m.set_gauge(g);
        self.mf.mut_metric().push(m);
    }
}

impl Collector for FloorCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let snap = self.snapshot.borrow().clone();
        let mut v: Vec<Family> = SPECS.iter().map(Family::new).collect();
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
            not_ready,
            faults,
            sources,
            ts,
        ] = &mut v[..]
        else {
            return Vec::new();
        };
        let now = snap.taken_at;
        for q in &snap.queues {
            let id = &*q.id;
            waiting.push(&[id], q.waiting.len() as f64);
            longest.push(&[id], q.longest_wait_ms(now) as f64 / 1000.0);
            target.push(&[id], q.params.sl_target);
            threshold.push(&[id], f64::from(q.params.sl_threshold_secs));
            for (spec, t) in snap.windows.iter().zip(&q.windows) {
                let w = spec.label.as_str();
                for (outcome, n) in [
                    ("offered", t.offered),
                    ("answered", t.answered),
                    ("abandoned", t.abandoned),
                    ("abandoned_short", t.abandoned_short),
                ] {
                    window_calls.push(&[id, w, outcome], f64::from(n));
                }
                if let Some(r) = t.answer_rate() {
                    answer_rate.push(&[id, w], r);
                }
                if let Some(r) = t.service_level(&q.params) {
                    sl.push(&[id, w], r);
                }
                if let Some(a) = t.asa_secs() {
                    asa.push(&[id, w], a);
                }
            }
        }
        for s in AgentState::ALL {
            agents.push(&[s.as_str()], f64::from(snap.agents_in(s)));
        }
        // Every reason from 0, so a panel or rule on one exists before anyone takes it.
        let mut by_reason = vec![0u32; self.reasons.len() + 1];
        for a in snap.agents.iter().filter(|a| a.state == Some(AgentState::NotReady)) {
            let i = a
                .reason
                .as_deref()
                .and_then(|r| self.reasons.iter().position(|k| k == r))
                .unwrap_or(self.reasons.len());
            by_reason[i] += 1;
        }
        for (r, n) in self.reasons.iter().map(String::as_str).chain([OTHER_REASON]).zip(by_reason) {
            not_ready.push(&[r], f64::from(n));
        }
        for t in &snap.teams {
            for s in AgentState::ALL {
                team_agents.push(&[&t.id, s.as_str()], f64::from(t.agents_by_state[s.index()]));
            }
        }
        for f in &snap.faults {
            faults.push(&[&f.component], 1.0);
        }
        sources.push(&[], snap.sources.iter().filter(|s| s.connections > 0).count() as f64);
        ts.push(&[], now as f64 / 1000.0);
        v.into_iter().map(|f| f.mf).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_is_a_valid_metric_definition() {
        let (_tx, rx) = watch::channel(Arc::new(Snapshot::default()));
        let c = FloorCollector::new(rx);
        assert_eq!(c.descs.len(), SPECS.len(), "a spec has an invalid name or label");
        let registry = prometheus::Registry::new();
        registry.register(Box::new(c)).expect("no clash among the collector's own names");
        // The empty floor still reports agents by state and the snapshot time.
        let names: Vec<_> = registry.gather().iter().map(|f| f.name().to_owned()).collect();
        assert!(names.contains(&"floorwatch_agents".to_owned()), "{names:?}");
    }

    #[test]
    fn not_ready_agents_by_configured_reason_or_other_every_one_from_zero() {
        use crate::event::{Event, EventKind, Id};
        use crate::floor::{Floor, FloorConfig};

        let mut fx = Vec::new();
        let mut floor = Floor::new(&FloorConfig::default(), &mut fx);
        let state = |agent: &str, st: AgentState, reason: Option<&str>| Event {
            ts: 1_000,
            source: Id::from("t"),
            seq: None,
            kind: EventKind::AgentState {
                agent: Id::from(agent),
                state: st,
                reason: reason.map(Id::from),
                queue: None,
                call: None,
            },
        };
        for e in [
            state("A1", AgentState::NotReady, Some("break")),
            state("A2", AgentState::NotReady, Some("smoking")),
            state("A3", AgentState::NotReady, None),
            state("A4", AgentState::Ready, None),
        ] {
            floor.apply(&e, e.ts, &mut fx);
        }
        let (_tx, rx) = watch::channel(Arc::new(floor.snapshot(2_000)));
        let reasons = ["lunch".to_owned(), "break".to_owned(), "other".to_owned()];
        let families = FloorCollector::new(rx).with_reasons(&reasons).collect();
        let f = families.iter().find(|f| f.name() == "floorwatch_agents_not_ready").expect("family");
        let got: Vec<(String, f64)> = f
            .get_metric()
            .iter()
            .map(|m| (m.get_label()[0].value().to_owned(), m.get_gauge().get_value()))
            .collect();
        let want = [("break", 1.0), ("lunch", 0.0), ("other", 2.0)].map(|(r, n)| (r.to_owned(), n));
        assert_eq!(got, want);
    }
}
