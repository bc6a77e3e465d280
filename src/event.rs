//! The floor's internal event vocabulary.
//!
//! `ingest` turns wire formats (the canonical protocol, vendor formats) into these
//! values; `floor` applies them. Nothing here knows JSON or WebSockets, so a vendor
//! adapter and the canonical decoder produce exactly the same thing, and `floor`
//! never learns where an event came from beyond its `source` id.

use std::fmt;

mod ts;

pub use ts::{TsError, TsParser, parse_ts};

/// Milliseconds since the Unix epoch, UTC. Event times and the engine's `now` use the
/// same unit so window and duration arithmetic is plain integer math.
pub type Ts = i64;

/// Identifier (agent, call, queue, team, source) or short text. Ids of up to 24
/// bytes — all real ACD ids — are stored inline: decoding, keying maps and
/// copying into snapshots allocate nothing on the hot path.
pub type Id = compact_str::CompactString;

/// The rule for an [`Id`] that came from outside (an event's field, a `?source=`,
/// a configured queue or team): ids become map keys, metric label values and
/// screen text, so they must be non-empty, printable and short.
pub fn valid_id(id: &str) -> bool {
    if id.is_empty() || id.len() > 256 {
        return false;
    }
    // The common case: printable ASCII, no spaces (every event names two or three
    // ids, so this is checked eight bytes at a time).
    if printable_ascii(id.as_bytes()) {
        return id.len() <= 64;
    }
    if id.is_ascii() {
        // A space, a control character or DEL.
        return false;
    }
    id.chars().count() <= 64 && !id.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// Whether every byte is printable ASCII other than space (`!` to `~`). Eight at
/// a time with the "some byte is below n / above n" bit tricks (exact as a yes/no
/// for the word), the rest one by one.
fn printable_ascii(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = b.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Some byte below 0x21 (space, control); some above 0x7e (DEL, non-ASCII):
        // adding 1 to each byte sets its high bit exactly when it was 0x7f.
        let below = x.wrapping_sub(ONES * 0x21) & !x & HIGH;
        let above = (x.wrapping_add(ONES) | x) & HIGH;
        if below | above != 0 {
            return false;
        }
    }
    words.remainder().iter().all(|&c| (0x21..=0x7e).contains(&c))
}

/// The hasher for maps keyed by ids: fast on short strings, seeded per process.
pub type FastHash = foldhash::fast::RandomState;

/// A `HashMap` with [`FastHash`]. hashbrown's rather than std's for `entry_ref`:
/// one hash per lookup-or-insert, and the key is cloned only when inserted.
pub type FastMap<K, V> = hashbrown::HashMap<K, V, FastHash>;

/// One event, as the ACD saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When the ACD saw it. Every duration and window is computed from this, never
    /// from arrival time, so a replayed stream gives the figures a live one gave.
    pub ts: Ts,
    pub source: Id,
    pub seq: Option<u64>,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    AgentLogin { agent: Id, name: Option<Id>, team: Option<Id>, state: AgentState, reason: Option<Id> },
    AgentLogout { agent: Id, reason: Option<Id> },
    AgentState { agent: Id, state: AgentState, reason: Option<Id>, queue: Option<Id>, call: Option<Id> },
    CallOffered { call: Id, queue: Id, caller: Option<Id> },
    CallAnswered { call: Id, agent: Id, queue: Option<Id> },
    CallAbandoned { call: Id, queue: Option<Id> },
    CallEnded { call: Id, agent: Option<Id> },
    Heartbeat,
    Fault { component: Id, status: FaultStatus, detail: Option<Id> },
}

impl EventKind {
    /// The protocol's name for this type; also the `type` label of
    /// `floorwatch_events_total`, so the label set is bounded by this enum.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::AgentLogin { .. } => "agent_login",
            EventKind::AgentLogout { .. } => "agent_logout",
            EventKind::AgentState { .. } => "agent_state",
            EventKind::CallOffered { .. } => "call_offered",
            EventKind::CallAnswered { .. } => "call_answered",
            EventKind::CallAbandoned { .. } => "call_abandoned",
            EventKind::CallEnded { .. } => "call_ended",
            EventKind::Heartbeat => "heartbeat",
            EventKind::Fault { .. } => "fault",
        }
    }

    /// Dense index for per-type counters (see [`EVENT_TYPES`]).
    pub fn type_index(&self) -> usize {
        match self {
            EventKind::AgentLogin { .. } => 0,
            EventKind::AgentLogout { .. } => 1,
            EventKind::AgentState { .. } => 2,
            EventKind::CallOffered { .. } => 3,
            EventKind::CallAnswered { .. } => 4,
            EventKind::CallAbandoned { .. } => 5,
            EventKind::CallEnded { .. } => 6,
            EventKind::Heartbeat => 7,
            EventKind::Fault { .. } => 8,
        }
    }
}

/// Every event type, in [`EventKind::type_index`] order.
pub const EVENT_TYPES: [&str; 9] = [
    "agent_login",
    "agent_logout",
    "agent_state",
    "call_offered",
    "call_answered",
    "call_abandoned",
    "call_ended",
    "heartbeat",
    "fault",
];

/// A logged-in agent's state (contract section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgentState {
    Ready,
    Ringing,
    Talking,
    Hold,
    Acw,
    NotReady,
}

impl AgentState {
    pub const ALL: [AgentState; 6] = [
        AgentState::Ready,
        AgentState::Ringing,
        AgentState::Talking,
        AgentState::Hold,
        AgentState::Acw,
        AgentState::NotReady,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Ready => "ready",
            AgentState::Ringing => "ringing",
            AgentState::Talking => "talking",
            AgentState::Hold => "hold",
            AgentState::Acw => "acw",
            AgentState::NotReady => "not_ready",
        }
    }

    pub fn parse(s: &str) -> Option<AgentState> {
        // A match rather than a search of ALL: one comparison on the ingest path.
        Some(match s {
            "ready" => AgentState::Ready,
            "ringing" => AgentState::Ringing,
            "talking" => AgentState::Talking,
            "hold" => AgentState::Hold,
            "acw" => AgentState::Acw,
            "not_ready" => AgentState::NotReady,
            _ => return None,
        })
    }

    /// Dense index, in [`AgentState::ALL`] order.
    pub fn index(self) -> usize {
        self as usize
    }

    /// On a call (counts toward talk time).
    pub fn on_call(self) -> bool {
        matches!(self, AgentState::Talking | AgentState::Hold)
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultStatus {
    Down,
    Up,
}

impl FaultStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultStatus::Down => "down",
            FaultStatus::Up => "up",
        }
    }
}

/// Formats a [`Ts`] as RFC 3339 with milliseconds, the protocol's own form.
pub fn format_ts(ts: Ts) -> String {
    match chrono::DateTime::from_timestamp_millis(ts) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => ts.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{AgentState, valid_id};

    #[test]
    fn agent_states_parse_from_their_names_only() {
        for st in AgentState::ALL {
            assert_eq!(AgentState::parse(st.as_str()), Some(st));
        }
        for bad in ["", "Ready", "READY", "not ready", "notready", "ready ", "acw\0"] {
            assert_eq!(AgentState::parse(bad), None, "{bad:?}");
        }
    }

    /// The word-at-a-time check of ids agrees with the plain rule (printable, no
    /// whitespace or control characters, 1–64 characters) wherever the odd byte
    /// sits, for ASCII and non-ASCII ids alike.
    #[test]
    fn valid_id_agrees_with_the_plain_rule_for_every_byte_in_every_place() {
        let plain = |id: &str| {
            let n = id.chars().count();
            (1..=64).contains(&n) && !id.chars().any(|c| c.is_control() || c.is_whitespace())
        };
        for len in [1, 7, 8, 9, 15, 16, 17, 63, 64, 65] {
            for at in [0, len / 2, len - 1] {
                for c in 0u8..=0x7f {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    let id = String::from_utf8(b).expect("ASCII");
                    assert_eq!(valid_id(&id), plain(&id), "{id:?}");
                }
                for odd in ['é', '张', '\u{3000}', '\u{85}', '\u{200b}'] {
                    let mut id: String = "a".repeat(len - 1);
                    id.insert(at.min(id.len()), odd);
                    assert_eq!(valid_id(&id), plain(&id), "{id:?}");
                }
            }
        }
        assert!(!valid_id(""));
        assert!(valid_id("site1-A0001") && valid_id("班组-1") && !valid_id("A 1"));
    }
}
