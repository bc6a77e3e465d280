//! One queue: lifetime counters, calls waiting now, and windowed tallies.

use std::collections::BTreeSet;

use super::QueueParams;
use super::window::{Ring, ShiftTally, Tally};
use crate::event::{Id, Ts};

/// Dense queue index; the engine keeps per-queue metric handles in the same order.
pub type QueueIdx = usize;

#[derive(Debug, Clone)]
pub(super) struct Queue {
    pub id: Id,
    pub name: Id,
    pub params: QueueParams,
    /// Whether it came from the config (shown even when idle) or from traffic.
    pub configured: bool,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    /// Calls waiting now, ordered by offer time: the first is the longest wait.
    pub waiting: BTreeSet<(Ts, Id)>,
    /// Allocated on first traffic, so 1,000 idle configured queues cost little.
    pub ring: Option<Box<Ring>>,
    pub shift: ShiftTally,
}

impl Queue {
    pub(super) fn new(id: Id, name: Id, params: QueueParams, configured: bool) -> Queue {
        Queue {
            id,
            name,
            params,
            configured,
            offered: 0,
            answered: 0,
            abandoned: 0,
            waiting: BTreeSet::new(),
            ring: None,
            shift: ShiftTally::default(),
        }
    }

    /// Applies `f` to the rolling slice of `ts` and to the tally of the shift that
    /// started at `shift_start`, wherever each still exists.
    pub(super) fn tally(
        &mut self,
        ts: Ts,
        shift_start: Ts,
        ring: impl FnOnce() -> Ring,
        f: impl Fn(&mut Tally),
    ) {
        let r = self.ring.get_or_insert_with(|| Box::new(ring()));
        if let Some(t) = r.at(ts) {
            f(t);
        }
        if let Some(t) = self.shift.at(shift_start) {
            f(t);
        }
    }
}
