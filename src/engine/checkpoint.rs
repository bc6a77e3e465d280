//! The engine's checkpoint: the live floor, the rules' state that goes with it
//! and the sources' `seq` marks of what was applied, as one versioned value.
//!
//! Why it is built here and encoded elsewhere: [`crate::engine::Step::checkpoint`]
//! copies the state between two inputs (plain clones, a few milliseconds for
//! 50,000 agents: the snapshot the wall reads already clones every agent eight
//! times a second), and the store's saver encodes, seals and commits it on other
//! threads, so the one serial stage of ingest never waits on JSON, a hash or a
//! COMMIT. JSON (serde_json, already a dependency) rather than a binary format:
//! measured in `benches/checkpoint.rs`, encoding and decoding stay far inside the
//! interval and the one-second restore goal, and an operator can read it.
//!
//! The `seq` marks come from the events the step applied, not from ingest's
//! live marks: ingest's run ahead of the floor by whatever is queued, and a mark
//! restored ahead of the floor would drop, as duplicates, events a bridge
//! replays that the checkpoint never saw. The JetStream positions (`streams`)
//! are the same idea for a durable log: marks the engine received in order
//! behind the batches they belong to, so they never run ahead of the floor.

use serde::{Deserialize, Serialize};

use crate::event::{Id, Ts};
use crate::floor::checkpoint::FloorCheckpoint;
use crate::rules::checkpoint::RulesCheckpoint;

/// The layout of [`Checkpoint`]; a stored checkpoint of another version is not
/// loaded (the floor starts empty, as before checkpoints existed).
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The engine's clock when it was taken.
    pub taken_at: Ts,
    pub floor: FloorCheckpoint,
    pub rules: RulesCheckpoint,
    /// The highest `seq` applied per source.
    pub seqs: Vec<(Id, u64)>,
    /// The JetStream stream sequence of the last message applied, per consumer
    /// (`ingest::nats`): a restart resumes right after it, so the messages this
    /// floor holds are never applied twice and none after it is skipped.
    /// Absent in checkpoints written before NATS sources existed.
    #[serde(default)]
    pub streams: Vec<(Id, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint version {found} is not {VERSION}")]
    Version { found: u32 },
    #[error("checkpoint does not decode: {0}")]
    Decode(#[from] serde_json::Error),
}

impl Checkpoint {
    /// The encoded body (JSON). Runs off the engine (the saver's blocking thread).
    pub fn encode(&self) -> Vec<u8> {
        // Plain data (strings, numbers, maps with string keys) cannot fail to
        // encode; an empty body would fail to decode and be ignored at start.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes a body of layout `version`.
    pub fn decode(version: u32, body: &[u8]) -> Result<Checkpoint, CheckpointError> {
        if version != VERSION {
            return Err(CheckpointError::Version { found: version });
        }
        Ok(serde_json::from_slice(body)?)
    }
}
