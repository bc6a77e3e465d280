//! Per-source `seq` high-water marks, shared by every ingest session so that a
//! bridge that reconnects (possibly before its old connection is noticed dead) and
//! replays its last events has them dropped as duplicates.
//!
//! A `DashMap` fits here: sessions write independent keys and no invariant spans
//! two sources. The map is wrapped so no guard escapes a method (never held across
//! an `.await`).

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use crate::event::Id;

#[derive(Debug, Default)]
pub struct SeqMarks {
    marks: DashMap<Id, u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCheck {
    /// Above the mark; `missing` numbers were skipped since the last one.
    Fresh { missing: u64 },
    /// Not above the last seen: drop it.
    Duplicate { last: u64 },
}

impl SeqMarks {
    pub fn new() -> SeqMarks {
        SeqMarks::default()
    }

    /// Checks `seq` against the source's mark and, when fresh, raises the mark.
    pub fn check(&self, source: &Id, seq: u64) -> SeqCheck {
        match self.marks.entry(source.clone()) {
            Entry::Occupied(mut o) => {
                let prev = *o.get();
                if seq <= prev {
                    return SeqCheck::Duplicate { last: prev };
                }
                *o.get_mut() = seq;
                SeqCheck::Fresh { missing: seq - prev - 1 }
            }
            // First sight of this source: whatever it starts at is its beginning.
            Entry::Vacant(v) => {
                v.insert(seq);
                SeqCheck::Fresh { missing: 0 }
            }
        }
    }

    /// The last `seq` accepted from `source`.
    pub fn last(&self, source: &Id) -> Option<u64> {
        self.marks.get(source).map(|m| *m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_gaps() {
        let m = SeqMarks::new();
        let s: Id = "acd-1".into();
        assert_eq!(m.check(&s, 5), SeqCheck::Fresh { missing: 0 });
        assert_eq!(m.check(&s, 6), SeqCheck::Fresh { missing: 0 });
        assert_eq!(m.check(&s, 6), SeqCheck::Duplicate { last: 6 });
        assert_eq!(m.check(&s, 3), SeqCheck::Duplicate { last: 6 });
        assert_eq!(m.check(&s, 10), SeqCheck::Fresh { missing: 3 });
        assert_eq!(m.last(&s), Some(10));
        // Another source has its own mark.
        let t: Id = "acd-2".into();
        assert_eq!(m.check(&t, 1), SeqCheck::Fresh { missing: 0 });
    }
}
