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
    /// The source that offered the latest call: waits are judged on its event
    /// time (empty: none yet).
    pub source: Id,
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
            source: Id::default(),
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

impl Queue {
    /// This queue's part of a checkpoint.
    pub(super) fn checkpoint(&self) -> super::checkpoint::QueueCp {
        use super::checkpoint::tally_cp;
        let (bucket_ms, ring) = match &self.ring {
            Some(r) => {
                let (bucket_ms, slots) = r.parts();
                (bucket_ms, slots.map(|(n, t)| (n, tally_cp(t))).collect())
            }
            None => (0, Vec::new()),
        };
        super::checkpoint::QueueCp {
            id: self.id.clone(),
            name: self.name.clone(),
            configured: self.configured,
            totals: (self.offered, self.answered, self.abandoned),
            waiting: self.waiting.iter().cloned().collect(),
            bucket_ms,
            ring,
            shift: self.shift.parts().map(|(s, t)| (s, tally_cp(t))).collect(),
            src: (!self.source.is_empty()).then(|| self.source.clone()),
        }
    }

    /// Takes back the counts, waiting calls and tallies of a checkpoint (`ring`:
    /// an empty ring as the config in force shapes it). `false` when the rolling
    /// windows could not be restored (the checkpoint's slices have another length).
    pub(super) fn restore(&mut self, cp: super::checkpoint::QueueCp, mut ring: Ring) -> bool {
        use super::checkpoint::tally_of;
        (self.offered, self.answered, self.abandoned) = cp.totals;
        self.waiting = cp.waiting.into_iter().collect();
        self.source = cp.src.unwrap_or_default();
        for (start, t) in &cp.shift {
            if let Some(slot) = self.shift.at(*start) {
                *slot = tally_of(t);
            }
        }
        if cp.ring.is_empty() {
            return true;
        }
        let fits = ring.restore_slices(cp.bucket_ms, cp.ring.iter().map(|(n, t)| (*n, tally_of(t))));
        self.ring = Some(Box::new(ring));
        fits
    }
}
