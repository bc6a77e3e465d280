//! Finished calls: the ids, with their latest event time, of calls whose counting
//! is complete, kept for `call_retention_secs` so that a late or repeated event of
//! one is known for a duplicate and not counted as a new call.
//!
//! A big floor finishes a thousand calls a minute, so at its steady state this
//! holds hours of calls: megabytes that do not stay in cache. In one hash table,
//! every new call's lookup ("is it a finished one?") and every finish (filing it)
//! was a trip to memory, and at five hours of a 5,000-agent floor those trips
//! cost the whole ingest pipeline a seventh of its rate (measured). So:
//! - calls finish into `recent`, a table small enough to stay in cache; when it is
//!   full, its calls move to `old` in one pass, whose inserts do not depend on one
//!   another, so their trips to memory overlap instead of each stalling in turn;
//! - `old` has a Bloom filter in front, a bit array of about 12 bits a call: a call
//!   `old` does not hold — every new call — is nearly always told so by one read of
//!   the filter, which stays in cache; only a "maybe" (the call is there, or about
//!   1 in 100 that is not) reads `old`.
//!
//! Lookups stay exact: every call in `old` has its bits set (set when it moves
//! there), and the filter is rebuilt from `old` whenever `old` loses calls (the
//! retention purge) or outgrows it, so it never says "no" for a call `old` holds.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::event::{FastHash, Id, Ts};

/// Calls `recent` holds before they move to `old`: 4,096 × 32 bytes, a few
/// minutes of a big floor's calls, small enough to stay in cache.
const RECENT_ROOM: usize = 4096;

#[derive(Debug)]
pub(super) struct Finished {
    recent: HashTable<(Id, Ts)>,
    recent_room: usize,
    old: HashTable<(Id, Ts)>,
    filter: Filter,
    /// At or before the earliest latest-time held (`Ts::MAX`: none held): when
    /// the next purge can have anything to forget. Exact after a purge, lowered
    /// by each insert; a call moved on only raises its own time, so it stays a
    /// lower bound.
    oldest: Ts,
}

impl Default for Finished {
    fn default() -> Finished {
        Finished::with_recent_room(RECENT_ROOM)
    }
}

impl Finished {
    /// With room for `room` calls in `recent` (small in tests, to make them move).
    pub(super) fn with_recent_room(room: usize) -> Finished {
        Finished {
            recent: HashTable::new(),
            recent_room: room.max(1),
            old: HashTable::new(),
            filter: Filter::with_room(0),
            oldest: Ts::MAX,
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.recent.len() + self.old.len()
    }

    /// The latest event time of finished call `id` (`hash`: its hash by the
    /// calls' hasher), to move on; `None` if it is not a finished call.
    pub(super) fn find_mut(&mut self, hash: u64, id: &Id) -> Option<&mut Ts> {
        if let Some((_, t)) = self.recent.find_mut(hash, |(k, _)| k == id) {
            return Some(t);
        }
        if !self.filter.may_hold(hash) {
            return None;
        }
        self.old.find_mut(hash, |(k, _)| k == id).map(|(_, t)| t)
    }

    /// At or before the earliest latest-time of the calls held; `Ts::MAX` when
    /// none are.
    pub(super) fn oldest(&self) -> Ts {
        self.oldest
    }

    /// Whether finished call `id` is held.
    pub(super) fn holds(&self, hash: u64, id: &Id) -> bool {
        self.recent.find(hash, |(k, _)| k == id).is_some()
            || (self.filter.may_hold(hash) && self.old.find(hash, |(k, _)| k == id).is_some())
    }

    /// Files a call that has just finished; it must not be held already (the
    /// caller looked it up before making it active).
    pub(super) fn insert(&mut self, hash: u64, id: Id, touched: Ts, hasher: &FastHash) {
        debug_assert!(self.find_mut(hash, &id).is_none(), "{id} is finished already");
        self.recent.insert_unique(hash, (id, touched), |(k, _)| hasher.hash_one(k));
        self.oldest = self.oldest.min(touched);
        if self.recent.len() >= self.recent_room {
            self.move_recent_to_old(hasher);
        }
    }

    /// Forgets the calls last touched before `horizon`.
    pub(super) fn retain_since(&mut self, horizon: Ts, hasher: &FastHash) {
        let mut oldest = Ts::MAX;
        let mut keep = |touched: Ts| {
            let kept = touched >= horizon;
            if kept {
                oldest = oldest.min(touched);
            }
            kept
        };
        self.recent.retain(|(_, touched)| keep(*touched));
        let before = self.old.len();
        self.old.retain(|(_, touched)| keep(*touched));
        self.oldest = oldest;
        if self.old.len() < before {
            // Cleared bits could belong to calls still held: start again from
            // what is left (a pass over `old`, once a minute at most).
            self.rebuild_filter(hasher);
        }
    }

    /// Every finished call last touched at or after `newest − kept_ms`, where
    /// `newest` is the latest time held (found in `recent`, which holds the calls
    /// that finished last, and `old` only when `recent` is empty), for a checkpoint.
    pub(super) fn recent_ids(&self, kept_ms: Ts) -> Vec<(Id, Ts)> {
        let newest = self.recent.iter().map(|(_, t)| *t).max();
        let Some(newest) = newest.or_else(|| self.old.iter().map(|(_, t)| *t).max()) else {
            return Vec::new();
        };
        let horizon = newest.saturating_sub(kept_ms);
        self.recent.iter().chain(self.old.iter()).filter(|(_, t)| *t >= horizon).cloned().collect()
    }

    fn move_recent_to_old(&mut self, hasher: &FastHash) {
        let incoming = self.recent.len();
        // Make room first: growing one insert at a time would rehash `old` in the
        // middle of the pass.
        self.old.reserve(incoming, |(k, _)| hasher.hash_one(k));
        if !self.filter.has_room_for(self.old.len() + incoming) {
            // Sized anew for twice as many, so growing floors rebuild it rarely.
            self.filter = Filter::with_room(2 * (self.old.len() + incoming));
            for (k, _) in &self.old {
                self.filter.set(hasher.hash_one(k));
            }
        }
        for (id, touched) in self.recent.drain() {
            let hash = hasher.hash_one(&id);
            self.filter.set(hash);
            self.old.insert_unique(hash, (id, touched), |(k, _)| hasher.hash_one(k));
        }
    }

    fn rebuild_filter(&mut self, hasher: &FastHash) {
        self.filter = Filter::with_room(2 * self.old.len());
        for (k, _) in &self.old {
            self.filter.set(hasher.hash_one(k));
        }
    }
}

/// A blocked Bloom filter: each key sets [`BITS_PER_KEY_SET`] bits within one
/// 512-bit block (a cache line), so a lookup reads one line.
#[derive(Debug)]
struct Filter {
    blocks: Vec<[u64; 8]>,
    /// Keys it was sized for; past that its false "maybe"s grow.
    room: usize,
}

/// Bits a key sets in its block.
const BITS_PER_KEY_SET: u32 = 6;
/// Filter bits per key it has room for: about 1% false "maybe" at full room.
const BITS_PER_KEY: usize = 12;

impl Filter {
    fn with_room(keys: usize) -> Filter {
        let blocks = (keys * BITS_PER_KEY).div_ceil(512).max(1);
        Filter { blocks: vec![[0; 8]; blocks], room: blocks * 512 / BITS_PER_KEY }
    }

    fn has_room_for(&self, keys: usize) -> bool {
        keys <= self.room
    }

    /// The block of `hash`, and the bits it sets there as (word, mask) pairs. The
    /// table's hash uses its low bits (bucket) and top seven (tag); this mixes
    /// it again so the filter's choices do not follow the table's.
    fn place(&self, hash: u64) -> (usize, impl Iterator<Item = (usize, u64)> + use<>) {
        let h = hash.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let block = ((u128::from(h) * self.blocks.len() as u128) >> 64) as usize;
        // Nine bits pick one of 512 for each bit set; 6 × 9 = 54 bits of `g`.
        let g = (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let bits = (0..BITS_PER_KEY_SET).map(move |i| {
            let bit = ((g >> (i * 9)) & 511) as usize;
            (bit / 64, 1u64 << (bit % 64))
        });
        (block, bits)
    }

    fn set(&mut self, hash: u64) {
        let (block, bits) = self.place(hash);
        let b = &mut self.blocks[block];
        for (word, mask) in bits {
            b[word] |= mask;
        }
    }

    fn may_hold(&self, hash: u64) -> bool {
        let (block, mut bits) = self.place(hash);
        let b = &self.blocks[block];
        bits.all(|(word, mask)| b[word] & mask != 0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A tiny deterministic generator (xorshift), so a failure replays.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Against a plain map, through every path: calls filed (moving on from
    /// `recent` every 64), looked up whether held or not, touched, and purged —
    /// the filter rebuilt then, and grown as `old` grows. Any "no" for a held
    /// call, or a "yes" for one not held, fails.
    #[test]
    fn finished_calls_agree_with_a_plain_map_through_moves_purges_and_growth() {
        let hasher = FastHash::default();
        let mut f = Finished::with_recent_room(64);
        let mut model: HashMap<Id, Ts> = HashMap::new();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut next_call = 0u64;
        let mut now: Ts = 0;
        for step in 0..60_000 {
            now += 1;
            match rng.below(10) {
                // File a new call (ids never seen before, as the floor's are).
                0..=4 => {
                    next_call += 1;
                    let id = Id::from(format!("C{next_call}"));
                    let hash = hasher.hash_one(&id);
                    f.insert(hash, id.clone(), now, &hasher);
                    model.insert(id, now);
                }
                // Look up an id that may or may not be held, and touch it if so.
                5..=8 => {
                    let id = Id::from(format!("C{}", rng.below(next_call + 100)));
                    let hash = hasher.hash_one(&id);
                    let got = f.find_mut(hash, &id).map(|t| {
                        *t = (*t).max(now);
                        *t
                    });
                    let want = model.get_mut(&id).map(|t| {
                        *t = (*t).max(now);
                        *t
                    });
                    assert_eq!(got, want, "{id} at step {step}");
                }
                // Purge what was last touched a while ago.
                _ if step % 97 == 0 => {
                    let horizon = now - 3_000;
                    f.retain_since(horizon, &hasher);
                    model.retain(|_, t| *t >= horizon);
                }
                _ => {}
            }
            assert_eq!(f.len(), model.len(), "step {step}");
        }
        // Every call held is found, and the last purge left many to find.
        assert!(model.len() > 1_000, "{} held", model.len());
        for (id, t) in &model {
            assert_eq!(f.find_mut(hasher.hash_one(id), id).copied(), Some(*t), "{id}");
        }
    }

    /// The filter answers "no" for most keys it was not given, and never for one
    /// it was: at its room, about 1% "maybe" (checked below 3%).
    #[test]
    fn the_filter_never_misses_a_key_and_rarely_claims_another() {
        let hasher = FastHash::default();
        let n = 50_000;
        let mut filter = Filter::with_room(n);
        for i in 0..n {
            filter.set(hasher.hash_one(format!("C{i}")));
        }
        assert!((0..n).all(|i| filter.may_hold(hasher.hash_one(format!("C{i}")))));
        let claimed = (n..2 * n).filter(|i| filter.may_hold(hasher.hash_one(format!("C{i}")))).count();
        assert!(claimed * 100 < 3 * n, "{claimed} of {n} absent keys claimed");
    }
}
