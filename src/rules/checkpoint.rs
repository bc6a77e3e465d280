//! The rules' part of a checkpoint: what cannot be rebuilt from the restored
//! floor. Overrun watches and deadlines are rebuilt from the floor's agents (each
//! agent's state and `since` are event time, so a pending overrun keeps its
//! original deadline, and one already raised is raised again at once with the
//! same key, which the alert task recognises as the open alert: confirmed, not
//! new). Kept here: the queue rules' latches (a figure between its fire and clear
//! thresholds must stay on), sources reported down, the `seq`-gap and mass-logout
//! signatures. Not kept: the surge detectors, whose profiles the baseline saver
//! keeps every five minutes (the current interval's count starts again).

use serde::{Deserialize, Serialize};

use super::{Latch, QueueWatch, Rules, Watch};
use crate::event::{Id, Ts};
use crate::floor::{Floor, slot_entry};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RulesCheckpoint {
    /// Per queue: answer rate, service level, longest wait, stuck — on or off.
    pub latches: Vec<(Id, [bool; 4])>,
    /// Sources reported down, since when (engine time).
    pub sources_down: Vec<(Id, Ts)>,
    /// Recent `seq` gaps per source: (engine time, numbers missing).
    pub gaps: Vec<(Id, Vec<(Ts, u64)>)>,
    /// Sources with an event-loss fault raised, since when.
    pub losing: Vec<(Id, Ts)>,
    /// Event times of recent logouts, and the mass logout raised, if any.
    pub logouts: Vec<Ts>,
    pub mass_logout_since: Option<Ts>,
}

impl Rules {
    /// The rules' state a restored floor cannot give back.
    pub fn checkpoint(&self) -> RulesCheckpoint {
        RulesCheckpoint {
            latches: self
                .queues
                .iter()
                .filter(|(_, w)| w.any_on())
                .map(|(q, w)| {
                    let on = [w.answer_rate.on, w.service_level.on, w.longest_wait.on, w.stuck.on];
                    (q.clone(), on)
                })
                .collect(),
            sources_down: self.sources_down.iter().map(|(s, t)| (s.clone(), *t)).collect(),
            gaps: self.gaps.iter().map(|(s, g)| (s.clone(), g.iter().copied().collect())).collect(),
            losing: self.losing.iter().map(|(s, t)| (s.clone(), *t)).collect(),
            logouts: self.logouts.iter().copied().collect(),
            mass_logout_since: self.mass_logout_since,
        }
    }

    /// Takes back a checkpoint's state, and rebuilds the agents' watches and
    /// overrun deadlines from the restored `floor`.
    pub fn restore(&mut self, floor: &Floor, cp: RulesCheckpoint) {
        for (q, [a, s, l, st]) in cp.latches {
            let w = QueueWatch {
                answer_rate: Latch { on: a },
                service_level: Latch { on: s },
                longest_wait: Latch { on: l },
                stuck: Latch { on: st },
                // A hold-down in progress starts again from the restore.
                wait_calm_since: None,
            };
            self.queues.insert(q, w);
        }
        self.sources_down.extend(cp.sources_down);
        self.gaps.extend(cp.gaps.into_iter().map(|(s, g)| (s, g.into_iter().collect())));
        self.losing.extend(cp.losing);
        self.logouts = cp.logouts.into_iter().collect();
        self.mass_logout_since = cp.mass_logout_since;
        for c in floor.logged_in_agents() {
            let limit_ms = self.limit_ms(&c);
            self.logged_in += 1;
            if limit_ms > 0 {
                // The original deadline, in event time: `since` is the event's.
                self.heap.push(std::cmp::Reverse((c.since + limit_ms, 0, c.slot)));
            }
            let slot = c.slot;
            *slot_entry(&mut self.agents, slot) =
                Some(Watch { change: c, generation: 0, level: None, limit_ms });
        }
    }

    /// Whether `source` is reported down (kept as it was across a restart).
    pub fn source_is_down(&self, source: &Id) -> bool {
        self.sources_down.contains_key(source)
    }
}

impl QueueWatch {
    fn any_on(&self) -> bool {
        self.answer_rate.on || self.service_level.on || self.longest_wait.on || self.stuck.on
    }
}
