//! The bounded memory of finished calls that the dial-out decoders share: a
//! snapshot taken on a reconnect, or a late event, must never revive a call the
//! decoder already saw end, yet an ACD that runs for months must not grow it.

use std::collections::{HashSet, VecDeque};

use crate::event::Id;

/// Calls remembered as finished (the oldest are forgotten first).
const FINISHED_KEPT: usize = 20_000;

#[derive(Debug, Default)]
pub(crate) struct FinishedCalls {
    ids: HashSet<Id>,
    order: VecDeque<Id>,
}

impl FinishedCalls {
    /// Remembers `call` as finished, forgetting the oldest past the bound.
    pub(crate) fn insert(&mut self, call: &Id) {
        if self.ids.insert(call.clone()) {
            self.order.push_back(call.clone());
            if self.order.len() > FINISHED_KEPT
                && let Some(old) = self.order.pop_front()
            {
                self.ids.remove(&old);
            }
        }
    }

    pub(crate) fn contains(&self, call: &Id) -> bool {
        self.ids.contains(call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_calls_up_to_its_bound() {
        let mut f = FinishedCalls::default();
        for i in 0..=FINISHED_KEPT {
            f.insert(&Id::from(format!("C{i}").as_str()));
        }
        f.insert(&Id::from("C5"));
        assert!(!f.contains(&Id::from("C0")), "the oldest is forgotten");
        assert!(f.contains(&Id::from("C1")) && f.contains(&Id::from(format!("C{FINISHED_KEPT}").as_str())));
        assert_eq!(f.order.len(), FINISHED_KEPT, "a repeat is not counted twice");
    }
}
