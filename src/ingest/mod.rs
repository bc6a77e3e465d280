//! Ingest: the edge where ACD/CTI events come in.
//!
//! Endpoints: `WS /ingest` (canonical protocol, contract §3). What it guarantees,
//! for every source alike:
//! - each event is judged alone: a bad one is rejected (the sender, where it can
//!   be answered, gets an error frame naming its reason and index), counted in
//!   `floorwatch_events_rejected_total{reason}`, and the rest of the frame and the
//!   connection go on;
//! - per-source `seq` duplicates are dropped (and counted), gaps are counted;
//! - accepted events go to the floor engine over a bounded channel; when it is
//!   full the source waits, so a fast sender is slowed down, never dropped.
//!
//! Layout: what all sources share is here — [`Intake`] (the hand-off: open,
//! accept, close), [`dedupe`], [`RejectReason`]/[`Rejection`], [`IngestMetrics`].
//! Each way in is a folder of its own: [`canonical`] (the canonical JSON protocol
//! and its WebSocket session); a vendor's format or a dial-out client is a sibling
//! that decodes into `Event`s and hands them to its [`Connection`]. The dial-out
//! clients ([`asterisk_ami`], [`freeswitch_esl`]) are sans-IO sessions driven by
//! [`dial`], configured by [`sources`] (`[[sources]]`); so is [`nats`], a
//! JetStream consumer whose stream position rides in the floor checkpoint.
//!
//! Nothing downstream knows that WebSockets or wire formats exist.

pub mod amazon_connect;
pub mod anonymous_bank;
pub mod asterisk_ami;
pub mod canonical;
pub mod config;
pub mod dedupe;
pub mod dial;
mod finished_calls;
pub mod freeswitch_esl;
pub mod genesys_cloud;
mod intake;
pub mod limits;
mod metrics;
pub mod nats;
pub mod record;
pub mod sources;
pub mod twilio;
pub mod vendor;
pub mod vendor_config;

pub use config::IngestConfig;
pub use intake::{Connection, EngineStopped, Intake};
pub use limits::LimitsConfig;
pub use metrics::{IngestMetrics, RecordMetrics, RefuseReason};

use crate::event::{Event, Id};
use std::fmt;

/// Why an event (or a whole frame) was refused. `as_label` is the `reason` label of
/// `floorwatch_events_rejected_total` and of the error frame, so the set of label
/// values is bounded by this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    BadJson,
    NotAnObject,
    UnknownType,
    MissingField,
    InvalidField,
    BadTimestamp,
    UnknownState,
    Duplicate,
    BinaryFrame,
    FrameTooLarge,
    /// A body whose content encoding (gzip) cannot be undone.
    BadEncoding,
    /// An event naming a source other than the one its bridge's token is bound to.
    WrongSource,
    /// A string field longer than `limits.max_field_bytes`, refused at decode.
    FieldTooLong,
    // The floor's refusals (`floor::Refusal`, same labels), counted under this
    // metric by the counting task so that one metric holds every refusal;
    // listed here so their series exist at 0 from the start.
    AgentLimit,
    CallLimit,
    SourceLimit,
    TeamLimit,
    ComponentLimit,
}

impl RejectReason {
    pub const ALL: [RejectReason; 18] = [
        RejectReason::BadJson,
        RejectReason::NotAnObject,
        RejectReason::UnknownType,
        RejectReason::MissingField,
        RejectReason::InvalidField,
        RejectReason::BadTimestamp,
        RejectReason::UnknownState,
        RejectReason::Duplicate,
        RejectReason::BinaryFrame,
        RejectReason::FrameTooLarge,
        RejectReason::BadEncoding,
        RejectReason::WrongSource,
        RejectReason::FieldTooLong,
        RejectReason::AgentLimit,
        RejectReason::CallLimit,
        RejectReason::SourceLimit,
        RejectReason::TeamLimit,
        RejectReason::ComponentLimit,
    ];

    pub fn as_label(self) -> &'static str {
        match self {
            RejectReason::BadJson => "bad_json",
            RejectReason::NotAnObject => "not_an_object",
            RejectReason::UnknownType => "unknown_type",
            RejectReason::MissingField => "missing_field",
            RejectReason::InvalidField => "invalid_field",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::UnknownState => "unknown_state",
            RejectReason::Duplicate => "duplicate",
            RejectReason::BinaryFrame => "binary_frame",
            RejectReason::FrameTooLarge => "frame_too_large",
            RejectReason::BadEncoding => "bad_encoding",
            RejectReason::WrongSource => "wrong_source",
            RejectReason::FieldTooLong => "field_too_long",
            RejectReason::AgentLimit => "agent_limit",
            RejectReason::CallLimit => "call_limit",
            RejectReason::SourceLimit => "source_limit",
            RejectReason::TeamLimit => "team_limit",
            RejectReason::ComponentLimit => "component_limit",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Keeps only the events of `source` (a bridge whose token is bound to it): any
/// other is moved to `rejected` as [`RejectReason::WrongSource`], so one bridge
/// cannot speak for another.
pub fn keep_own_source(source: &Id, events: &mut Vec<Event>, rejected: &mut Vec<Rejection>) {
    events.retain(|e| {
        if e.source == *source {
            return true;
        }
        let mut r = Rejection::new(
            RejectReason::WrongSource,
            format!("this bridge's token speaks for source {source:?} only, not {:?}", e.source.as_str()),
        );
        r.seq = e.seq;
        rejected.push(r);
        false
    });
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_label())
    }
}

/// A refused event or frame, as data (never an `Err` that ends the session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    /// Position in the batch (0 for a lone object); `None` for the whole frame.
    pub index: Option<usize>,
    pub seq: Option<u64>,
    pub message: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, message: String) -> Rejection {
        Rejection { reason, index: None, seq: None, message }
    }

    pub fn at(mut self, index: usize) -> Rejection {
        self.index = Some(index);
        self
    }

    pub fn with_seq(mut self, seq: Option<u64>) -> Rejection {
        self.seq = seq;
        self
    }
}
