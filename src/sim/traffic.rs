//! Offered traffic: Poisson arrivals on the daily curve, callers, surges and
//! component faults.
//!
//! Apart from routing because this is what shapes the load the daemon's queue
//! rules watch (volume, surges, fault signatures), and it is tuned on its own.

use std::sync::Arc;

use rand::Rng;

use super::curve;
use super::event::{SimEvent, SimEventKind};
use super::model::{Action, Call, DAY, SEC, SimModel};

/// Mean caller patience, seconds, before hanging up unanswered.
const MEAN_PATIENCE_SECS: f64 = 90.0;
/// Share of callers who ring back after abandoning, reusing their number.
const REDIAL_SHARE: f64 = 0.08;
const MOBILE_PREFIXES: [&str; 10] = ["138", "139", "137", "136", "135", "150", "151", "186", "188", "177"];

/// Faults the simulated ACD reports: component, detail when down, detail when up,
/// share of arrivals lost while it is down.
const FAULTS: [(&str, &str, &str, f64); 3] = [
    ("trunk-2", "E1 trunk 2 lost carrier", "E1 trunk 2 carrier restored", 0.5),
    ("ivr", "IVR node ivr-1 not answering", "IVR node ivr-1 back in service", 0.3),
    ("cti-link", "CTI link to ACD lost", "CTI link to ACD restored", 0.25),
];

impl SimModel {
    pub(super) fn schedule_arrival(&mut self, q: usize) {
        let rate = self.queues[q].max_rate;
        if rate > 0.0 {
            let gap = self.exp_ms(1.0 / rate);
            self.schedule(self.now + gap, Action::Arrival(q));
        }
    }

    /// Offered calls per second on queue `q` now: the daily curve, times a surge.
    fn rate(&self, q: usize) -> f64 {
        let queue = &self.queues[q];
        let local_sec = (self.now + self.local_offset).rem_euclid(DAY) as f64 / 1000.0;
        let surge = if self.now < queue.surge_until { self.surge_factor } else { 1.0 };
        let level = if self.flat { curve::PEAK_LEVEL } else { curve::daily_level(local_sec) };
        queue.peak_rate * level * surge
    }

    /// A candidate arrival from the bounding Poisson process; thinning keeps it
    /// with probability rate / bound, which gives the exact time-varying process.
    pub(super) fn arrival(&mut self, q: usize, out: &mut Vec<SimEvent>) {
        let keep = self.rng.random::<f64>() * self.queues[q].max_rate < self.rate(q);
        let lost = match self.fault {
            Some((f, _)) => self.rng.random_bool(FAULTS[f].3),
            None => false,
        };
        if keep && !lost {
            self.offer(q, out);
        }
        self.schedule_arrival(q);
    }

    fn offer(&mut self, q: usize, out: &mut Vec<SimEvent>) {
        let n = self.next_call;
        self.next_call += 1;
        let id: Arc<str> = Arc::from(format!("{}C{n}", self.id_prefix));
        let caller = self.caller();
        self.emit(
            out,
            SimEventKind::CallOffered {
                call: id.clone(),
                queue: self.queues[q].name.clone(),
                caller: caller.clone(),
            },
        );
        self.calls.insert(n, Call { id, queue: q, caller, offered_at: self.now, agent: None });
        self.queues[q].unanswered += 1;
        let patience = self.exp_ms(MEAN_PATIENCE_SECS);
        self.schedule(self.now + patience, Action::Abandon(n));

        match self.queues[q].idle.first().copied() {
            Some((_, a)) => self.assign(a, n, out),
            None => self.queues[q].waiting.push_back(n),
        }
    }

    fn caller(&mut self) -> Arc<str> {
        if !self.recent_abandoners.is_empty() && self.rng.random_bool(REDIAL_SHARE) {
            let i = self.rng.random_range(0..self.recent_abandoners.len());
            if let Some(c) = self.recent_abandoners.remove(i) {
                return c;
            }
        }
        let prefix = MOBILE_PREFIXES[self.rng.random_range(0..MOBILE_PREFIXES.len())];
        let rest: u32 = self.rng.random_range(0..100_000_000);
        Arc::from(format!("+86{prefix}{rest:08}"))
    }

    pub(super) fn surge(&mut self) {
        let q = self.surge_turn % self.queues.len();
        self.surge_turn += 1;
        let len = self.surge_secs;
        let until = self.now + self.uniform_ms(len * 0.85, len * 1.15);
        self.queues[q].surge_until = until;
        // Surges never overlap, whatever the period.
        let next = (self.now.saturating_add(self.surge_every)).max(until + SEC);
        self.schedule(next, Action::SurgeStart);
    }

    pub(super) fn fault_down(&mut self, out: &mut Vec<SimEvent>) {
        // Mostly the trunk; every third fault another part, alternating.
        let f = match self.fault_turn % 3 {
            2 => 1 + (self.fault_turn / 3) % 2,
            _ => 0,
        };
        self.fault_turn += 1;
        self.fault = Some((f, self.now));
        let (component, down, _, _) = FAULTS[f];
        self.emit(out, SimEventKind::Fault { component, status: "down", detail: down });
        let lasts = self.uniform_ms(60.0, 90.0);
        self.schedule(self.now + lasts, Action::FaultUp);
    }

    pub(super) fn fault_up(&mut self, out: &mut Vec<SimEvent>) {
        let Some((f, since)) = self.fault.take() else { return };
        let (component, _, up, _) = FAULTS[f];
        self.emit(out, SimEventKind::Fault { component, status: "up", detail: up });
        let next = since.saturating_add(self.fault_every).max(self.now + SEC);
        self.schedule(next, Action::FaultDown);
    }
}
