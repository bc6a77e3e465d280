//! Per-source `seq` high-water marks, shared by every ingest session so that a
//! bridge that reconnects (possibly before its old connection is noticed dead) and
//! replays its last events has them dropped as duplicates.
//!
//! A `DashMap` fits here: sessions write independent keys and no invariant spans
//! two sources. The map is wrapped so no guard escapes a method (never held across
//! an `.await`), and a frame takes one lock per run of events from the same source,
//! not one per event.

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use crate::event::{Event, FastHash, Id};

#[derive(Debug, Default)]
pub struct SeqMarks {
    marks: DashMap<Id, u64, FastHash>,
    /// Sources marked at most (0: no bound); see [`SeqMarks::set_max_sources`].
    max_sources: usize,
}

/// What [`SeqMarks::filter`] found in one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqReport {
    /// Events dropped because their `seq` was not above their source's mark.
    pub duplicates: u64,
    /// Times `seq` jumped by more than one.
    pub gaps: u64,
    /// Numbers skipped in those jumps.
    pub missing: u64,
}

impl SeqMarks {
    pub fn new() -> SeqMarks {
        SeqMarks::default()
    }

    /// Keeps marks for at most `n` sources, so events naming endless distinct
    /// sources cannot grow the map; a source beyond it passes unmarked.
    pub fn set_max_sources(&mut self, n: usize) {
        self.max_sources = n;
    }

    /// Drops, in place, the events whose `seq` is not above their source's mark,
    /// and raises the marks. Events without `seq` always pass.
    pub fn filter(&self, events: &mut Vec<Event>) -> SeqReport {
        let mut report = SeqReport::default();
        if events.iter().all(|e| e.seq.is_none()) {
            return report;
        }
        // Read before any entry is held (`len` locks every shard): racing
        // sessions may pass the bound by a few, never by much.
        let full = self.max_sources > 0 && self.marks.len() >= self.max_sources;
        let mut keep = Vec::with_capacity(events.len());
        let mut start = 0;
        while start < events.len() {
            let source = &events[start].source;
            let end = start + events[start..].iter().take_while(|e| e.source == *source).count();
            let run = &events[start..end];
            match self.marks.entry(source.clone()) {
                Entry::Occupied(mut o) => {
                    let mut mark = Some(*o.get());
                    judge(run, &mut mark, &mut keep, &mut report);
                    if let Some(m) = mark {
                        *o.get_mut() = m;
                    }
                }
                // First sight of this source: whatever it starts at is its beginning.
                Entry::Vacant(v) => {
                    let mut mark = None;
                    judge(run, &mut mark, &mut keep, &mut report);
                    if let Some(m) = mark
                        && !full
                    {
                        v.insert(m);
                    }
                }
            }
            start = end;
        }
        let mut keep = keep.into_iter();
        events.retain(|_| keep.next().unwrap_or(true));
        report
    }

    /// Starts `source`'s mark at `last` (the checkpoint's, at start), unless a
    /// higher one is held already.
    pub fn restore(&self, source: crate::event::Id, last: u64) {
        let mut mark = self.marks.entry(source).or_insert(last);
        *mark = (*mark).max(last);
    }

    /// The last `seq` accepted from `source`.
    pub fn last(&self, source: &Id) -> Option<u64> {
        self.marks.get(source).map(|m| *m)
    }
}

fn judge(run: &[Event], mark: &mut Option<u64>, keep: &mut Vec<bool>, report: &mut SeqReport) {
    for ev in run {
        let fresh = match (ev.seq, *mark) {
            (None, _) => true,
            (Some(seq), Some(last)) if seq <= last => {
                report.duplicates += 1;
                false
            }
            (Some(seq), last) => {
                if let Some(last) = last
                    && seq > last + 1
                {
                    report.gaps += 1;
                    report.missing += seq - last - 1;
                }
                *mark = Some(seq);
                true
            }
        };
        keep.push(fresh);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    fn ev(source: &str, seq: Option<u64>) -> Event {
        Event { ts: 0, source: source.into(), seq, kind: EventKind::Heartbeat }
    }

    fn seqs(events: &[Event]) -> Vec<(String, Option<u64>)> {
        events.iter().map(|e| (e.source.to_string(), e.seq)).collect()
    }

    #[test]
    fn duplicates_and_gaps() {
        let m = SeqMarks::new();
        let mut batch = vec![ev("a", Some(5)), ev("a", Some(6)), ev("a", Some(6)), ev("a", Some(3))];
        let r = m.filter(&mut batch);
        assert_eq!(r, SeqReport { duplicates: 2, gaps: 0, missing: 0 });
        assert_eq!(seqs(&batch), vec![("a".into(), Some(5)), ("a".into(), Some(6))]);

        let mut batch = vec![ev("a", Some(10)), ev("a", None), ev("b", Some(1)), ev("a", Some(11))];
        let r = m.filter(&mut batch);
        assert_eq!(r, SeqReport { duplicates: 0, gaps: 1, missing: 3 });
        assert_eq!(batch.len(), 4);
        assert_eq!(m.last(&"a".into()), Some(11));
        assert_eq!(m.last(&"b".into()), Some(1));

        // A replay after a reconnect: everything up to the mark goes.
        let mut batch = (8..=13).map(|s| ev("a", Some(s))).collect::<Vec<_>>();
        let r = m.filter(&mut batch);
        assert_eq!(r.duplicates, 4);
        assert_eq!(seqs(&batch), vec![("a".into(), Some(12)), ("a".into(), Some(13))]);
    }
}
