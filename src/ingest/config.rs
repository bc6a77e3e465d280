//! The `[ingest]` section: who may send events and how much ingest holds at once.
//! The section as written ([`RawIngest`], serde, unknown keys rejected) and its
//! validated form ([`IngestConfig`]). Problems are `(key, message)` pairs that
//! `config` places at file:line:column; the environment's token is handed in by
//! `config`, which owns the environment variables.

use serde::Deserialize;

/// `(key, message)` problems, mapped onto file:line:key by `config`.
pub type Problems = Vec<(String, String)>;

#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Bearer token `/ingest` requires; `None` means loopback peers only.
    pub token: Option<String>,
    /// Largest accepted WebSocket message, bytes.
    pub max_frame_bytes: usize,
    /// Concurrent ingest connections; further handshakes get 503.
    pub max_connections: usize,
    /// Batches that may wait for the engine before senders are slowed down.
    pub channel_capacity: usize,
}

/// The `[ingest]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIngest {
    token: Option<String>,
    max_frame_bytes: Option<usize>,
    max_connections: Option<usize>,
    channel_capacity: Option<usize>,
    /// `[[ingest.tokens]]`: validated with people's tokens (`access`).
    tokens: Vec<RawIngestToken>,
}

/// One `[[ingest.tokens]]` entry as written: a bridge's token, bound to its source.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIngestToken {
    pub source: String,
    /// Hex SHA-256 of the token.
    pub sha256: String,
}

impl RawIngest {
    /// The per-bridge tokens, taken out for the access table.
    pub fn take_tokens(&mut self) -> Vec<RawIngestToken> {
        std::mem::take(&mut self.tokens)
    }

    /// `env_token` is the environment's token, if set: it wins over the file so a
    /// secret need not be written down.
    pub fn validate(self, env_token: Option<String>, errs: &mut Problems) -> IngestConfig {
        let token = env_token.or(self.token).filter(|t| !t.is_empty());
        IngestConfig {
            token,
            max_frame_bytes: positive(errs, "ingest.max_frame_bytes", self.max_frame_bytes, 1 << 20),
            max_connections: positive(errs, "ingest.max_connections", self.max_connections, 256),
            channel_capacity: positive(errs, "ingest.channel_capacity", self.channel_capacity, 256),
        }
    }
}

fn positive(errs: &mut Problems, key: &str, v: Option<usize>, default: usize) -> usize {
    match v {
        Some(0) => {
            errs.push((key.to_owned(), "must be greater than 0".to_owned()));
            default
        }
        Some(n) => n,
        None => default,
    }
}
