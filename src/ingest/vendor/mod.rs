//! What the vendor decoders ([`amazon_connect`](super::amazon_connect),
//! [`genesys_cloud`](super::genesys_cloud), [`twilio`](super::twilio)) share:
//! the per-source memory that lets them drop the vendor's own duplicates and
//! emit each step of a call once ([`SourceState`]), the registry that keeps that
//! memory across requests of one source ([`VendorSources`]), and JSON helpers that
//! read a key however the vendor cased it.
//!
//! Each decoder is a plain function `(bytes, &mut Cx, out, rejected)`: no IO, no
//! clock (`now` is given, for the few messages without a time of their own), no
//! panic and no failure as a whole — a bad record is one counted [`Rejection`].
//!
//! Memory is bounded: a source remembers at most [`RECENT_KEYS`] ids and
//! [`REMEMBERED`] assignments, and the registry at most [`MAX_SOURCES`] sources
//! (the least recently used is forgotten first).

mod json;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;

pub(crate) use json::{arn_id, field, field_str, free_text, id_field, text_of, ts_of};

use super::Rejection;
use super::vendor_config::{Format, Mapped, VendorConfig, VendorSettings};
use crate::event::{Event, FastHash, FastMap, Id, Ts};

/// Decodes one message of `format` (a POST body or a WebSocket frame). `Some`:
/// it was a Firehose delivery with this `requestId`, which its acknowledgement
/// must echo.
pub fn decode(
    format: Format,
    body: &[u8],
    cx: &mut Cx<'_>,
    out: &mut Vec<Event>,
    rejected: &mut Vec<Rejection>,
) -> Option<String> {
    match format {
        Format::AmazonConnect => super::amazon_connect::decode(body, cx, out, rejected).firehose,
        Format::GenesysCloud => {
            super::genesys_cloud::decode(body, cx, out, rejected);
            None
        }
        Format::Twilio => {
            super::twilio::decode(body, cx, out, rejected);
            None
        }
    }
}

/// Vendor event ids (and the call steps derived from them) a source remembers.
/// Vendors retry within seconds to minutes; 8192 covers minutes of a busy floor.
pub const RECENT_KEYS: usize = 8192;
/// Call → agent and agent → last status a source remembers.
pub const REMEMBERED: usize = 4096;
/// Sources whose memory is kept at once.
pub const MAX_SOURCES: usize = 256;

/// What a decoder is given besides the bytes.
pub struct Cx<'a> {
    /// The connection's source id: every event is this source's.
    pub source: &'a Id,
    pub settings: &'a VendorSettings,
    pub state: &'a mut SourceState,
    /// Wall time, for messages that carry none (Genesys heartbeats).
    pub now: Ts,
}

/// A bounded set of recently seen keys, oldest forgotten first. Keys are kept as
/// 64-bit hashes (16 bytes each with the ring): two different ids share one with
/// a chance of about 2⁻⁵¹ in a full ring, and the cost would be one dropped event.
#[derive(Debug)]
pub struct RecentKeys {
    set: hashbrown::HashSet<u64, FastHash>,
    order: VecDeque<u64>,
    hasher: FastHash,
    cap: usize,
}

impl RecentKeys {
    pub fn new(cap: usize) -> RecentKeys {
        RecentKeys {
            set: hashbrown::HashSet::with_hasher(FastHash::default()),
            order: VecDeque::new(),
            hasher: FastHash::default(),
            cap: cap.max(1),
        }
    }

    fn hash(&self, key: impl Hash) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Remembers `key`; `false` when it was already there.
    pub fn insert(&mut self, key: impl Hash) -> bool {
        let h = self.hash(key);
        if !self.set.insert(h) {
            return false;
        }
        if self.order.len() == self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.order.push_back(h);
        true
    }

    pub fn contains(&self, key: impl Hash) -> bool {
        self.set.contains(&self.hash(key))
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// A bounded map, oldest insertion forgotten first.
#[derive(Debug)]
pub struct Remembered<V> {
    map: FastMap<Id, V>,
    order: VecDeque<Id>,
    cap: usize,
}

impl<V> Remembered<V> {
    pub fn new(cap: usize) -> Remembered<V> {
        Remembered { map: FastMap::default(), order: VecDeque::new(), cap: cap.max(1) }
    }

    pub fn insert(&mut self, k: Id, v: V) {
        if self.map.insert(k.clone(), v).is_some() {
            return;
        }
        if self.order.len() == self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.map.remove(&old);
        }
        self.order.push_back(k);
    }

    pub fn get(&self, k: &str) -> Option<&V> {
        self.map.get(k)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// One source's memory, shared by its connections and requests.
#[derive(Debug)]
pub struct SourceState {
    /// Vendor event ids seen (tag `"id"`), and call steps already emitted.
    pub recent: RecentKeys,
    /// Which agent has which call (Twilio names the worker on few task events).
    pub agent_of_call: Remembered<Id>,
    /// Each agent's last mapped status, to go back to after a call or a ring.
    pub status_of_agent: Remembered<Mapped>,
}

impl Default for SourceState {
    fn default() -> Self {
        SourceState {
            recent: RecentKeys::new(RECENT_KEYS),
            agent_of_call: Remembered::new(REMEMBERED),
            status_of_agent: Remembered::new(REMEMBERED),
        }
    }
}

impl SourceState {
    /// `true` the first time the vendor's event `id` is seen: a retried delivery
    /// or a relay's replay has it dropped.
    pub fn first_sight(&mut self, id: &str) -> bool {
        self.recent.insert(("id", id))
    }

    /// `true` the first time this step of this call is seen, so a vendor that
    /// repeats a call's whole state on every update yields each step once.
    pub fn first_step(&mut self, step: &'static str, call: &str) -> bool {
        self.recent.insert((step, call))
    }

    pub fn saw_step(&self, step: &'static str, call: &str) -> bool {
        self.recent.contains((step, call))
    }
}

/// Every vendor source's settings and memory. One lock for all: it is held only
/// while one message is decoded (never across an `.await`), and vendor traffic
/// is a few sources.
pub struct VendorSources {
    config: VendorConfig,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<(Format, Id), Entry>,
    tick: u64,
}

struct Entry {
    settings: VendorSettings,
    state: SourceState,
    last_used: u64,
}

impl VendorSources {
    pub fn new(config: VendorConfig) -> VendorSources {
        VendorSources { config, inner: Mutex::new(Entries::default()) }
    }

    /// How `source`'s POSTs prove they come from Twilio, when it is configured.
    pub fn twilio_auth(&self, source: &str) -> Option<&crate::ingest::vendor_config::TwilioAuth> {
        self.config
            .sources
            .iter()
            .find(|s| s.format == Format::Twilio && s.id == source)
            .and_then(|s| s.twilio.as_ref())
    }

    /// Runs `f` with `source`'s settings and memory (created on first use).
    pub fn with<R>(
        &self,
        format: Format,
        source: &Id,
        f: impl FnOnce(&VendorSettings, &mut SourceState) -> R,
    ) -> R {
        // A decoder never panics, but should one, its memory is still usable.
        let mut g = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        g.tick += 1;
        let tick = g.tick;
        let key = (format, source.clone());
        if !g.map.contains_key(&key) {
            if g.map.len() >= MAX_SOURCES
                && let Some(oldest) = g.map.iter().min_by_key(|(_, e)| e.last_used).map(|(k, _)| k.clone())
            {
                tracing::info!(source = %oldest.1, format = oldest.0.as_str(), "vendor source memory forgotten");
                g.map.remove(&oldest);
            }
            let settings = self.config.settings(format, source);
            g.map.insert(key.clone(), Entry { settings, state: SourceState::default(), last_used: tick });
        }
        match g.map.get_mut(&key) {
            Some(e) => {
                e.last_used = tick;
                f(&e.settings, &mut e.state)
            }
            // Inserted just above, under the same lock.
            None => f(&VendorSettings::defaults(format), &mut SourceState::default()),
        }
    }

    /// Sources whose memory is kept, for tests of the bound.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|g| g.map.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A decoder's test bench: one source's settings and memory, fed message by
/// message as a connection would.
#[cfg(test)]
pub(crate) struct Bench {
    pub format: Format,
    pub source: Id,
    pub settings: VendorSettings,
    pub state: SourceState,
    pub now: Ts,
}

#[cfg(test)]
impl Bench {
    pub(crate) fn new(format: Format) -> Bench {
        Bench {
            format,
            source: Id::from(format.as_str()),
            settings: VendorSettings::defaults(format),
            state: SourceState::default(),
            now: 1_795_420_800_000,
        }
    }

    /// Decodes `body`: its events, rejections and Firehose request id.
    pub(crate) fn feed(&mut self, body: &[u8]) -> (Vec<Event>, Vec<Rejection>, Option<String>) {
        let (mut out, mut rejected) = (Vec::new(), Vec::new());
        let mut cx =
            Cx { source: &self.source, settings: &self.settings, state: &mut self.state, now: self.now };
        let firehose = decode(self.format, body, &mut cx, &mut out, &mut rejected);
        (out, rejected, firehose)
    }

    /// Only the events, asserting nothing was rejected.
    pub(crate) fn events(&mut self, body: &str) -> Vec<crate::event::EventKind> {
        let (out, rejected, _) = self.feed(body.as_bytes());
        assert!(rejected.is_empty(), "rejected: {rejected:?}");
        out.into_iter().map(|e| e.kind).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_keys_forget_the_oldest_beyond_their_bound() {
        let mut r = RecentKeys::new(3);
        for k in ["a", "b", "c"] {
            assert!(r.insert(k));
        }
        assert!(!r.insert("a"));
        assert!(r.insert("d"));
        assert_eq!(r.len(), 3);
        assert!(!r.contains("a") && r.contains("b") && r.contains("d"));
        assert!(r.insert("a"), "forgotten, so new again");
    }

    #[test]
    fn remembered_maps_are_bounded() {
        let mut m = Remembered::new(2);
        m.insert(Id::from("a"), 1);
        m.insert(Id::from("b"), 2);
        m.insert(Id::from("a"), 3);
        m.insert(Id::from("c"), 4);
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("a"), None);
        assert_eq!(m.get("c"), Some(&4));
    }

    #[test]
    fn the_registry_keeps_at_most_its_bound_of_sources() {
        let reg = VendorSources::new(VendorConfig::default());
        for i in 0..MAX_SOURCES + 10 {
            let src = Id::from(format!("s{i}"));
            reg.with(Format::Twilio, &src, |_, st| st.first_sight("x"));
        }
        assert_eq!(reg.len(), MAX_SOURCES);
        // The most recent source kept its memory.
        let last = Id::from(format!("s{}", MAX_SOURCES + 9));
        assert!(!reg.with(Format::Twilio, &last, |_, st| st.first_sight("x")));
        // The same id under another format is another source.
        assert!(reg.with(Format::AmazonConnect, &last, |_, st| st.first_sight("x")));
    }
}
