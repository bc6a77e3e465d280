//! The live floor's checkpoint, kept in its own one-row table.
//!
//! The store knows the checkpoint only as bytes with a layout version: what is
//! in it is the engine's business. It guarantees that a checkpoint is replaced
//! whole in one transaction (atomic), and that what is loaded is exactly what
//! was saved: the body's SHA-256 is stored beside it and checked at load, and a
//! row that does not verify is ignored with a warning, never loaded.
//!
//! Saving goes through [`StoreHandle::keep_checkpoint`], a saver task like the
//! baselines': it takes the latest value the engine published, encodes and
//! seals it on a blocking thread and waits for the COMMIT itself, so the engine
//! never waits behind JSON, a digest or the writer thread.

use std::sync::Arc;

use ring::digest;
use rusqlite::{OptionalExtension, params};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{StoreError, StoreHandle};

/// A checkpoint ready for the table: the encoded body and its digest.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub version: u32,
    /// The engine's clock when the state was copied.
    pub taken_at: i64,
    body: Vec<u8>,
    sha256: Vec<u8>,
}

impl Sealed {
    /// Seals `body` (its SHA-256; some milliseconds for a big floor, so off the
    /// engine and off the writer thread).
    pub fn new(version: u32, taken_at: i64, body: Vec<u8>) -> Sealed {
        let sha256 = digest::digest(&digest::SHA256, &body).as_ref().to_vec();
        Sealed { version, taken_at, body, sha256 }
    }

    pub fn len(&self) -> usize {
        self.body.len()
    }

    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }
}

/// A checkpoint as loaded, its digest verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub version: u32,
    pub taken_at: i64,
    pub body: Vec<u8>,
}

impl StoreHandle {
    /// Replaces the checkpoint, in one transaction; returns after COMMIT.
    pub async fn save_checkpoint(&self, sealed: Sealed) -> Result<(), StoreError> {
        self.job("save_checkpoint", move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO floor_checkpoint (id, version, taken_at, saved_at, sha256, body)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version,
                    taken_at = excluded.taken_at, saved_at = excluded.saved_at,
                    sha256 = excluded.sha256, body = excluded.body",
                params![
                    sealed.version,
                    sealed.taken_at,
                    chrono::Utc::now().timestamp_millis(),
                    sealed.sha256,
                    sealed.body
                ],
            )?;
            tx.commit()
        })
        .await
    }

    /// The saved checkpoint, if there is one that verifies. A row whose body
    /// does not match its digest is ignored with a warning (`Ok(None)`): the
    /// daemon then starts with an empty floor, as it did before checkpoints.
    pub async fn load_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row = self
            .job("load_checkpoint", |conn| {
                conn.query_row(
                    "SELECT version, taken_at, sha256, body FROM floor_checkpoint WHERE id = 1",
                    [],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                            r.get::<_, Vec<u8>>(3)?,
                        ))
                    },
                )
                .optional()
            })
            .await;
        let (version, taken_at, sha256, body) = match row {
            Ok(Some(row)) => row,
            Ok(None) => return Ok(None),
            // A column of the wrong type (a hand edit): as good as torn.
            Err(StoreError::Sqlite(e)) => {
                tracing::warn!(error = %e, "stored checkpoint unreadable; starting with an empty floor");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let verified = digest::digest(&digest::SHA256, &body).as_ref() == sha256.as_slice();
        let Ok(version) = u32::try_from(version) else {
            tracing::warn!(version, "stored checkpoint has no valid version; starting with an empty floor");
            return Ok(None);
        };
        if !verified {
            tracing::warn!(
                bytes = body.len(),
                taken_at,
                "stored checkpoint does not match its checksum; ignored, starting with an empty floor"
            );
            return Ok(None);
        }
        Ok(Some(StoredCheckpoint { version, taken_at, body }))
    }

    /// Starts the saver: each value published on `latest` is encoded with
    /// `encode` and sealed on a blocking thread, then saved (a value replaced
    /// before the saver got to it is skipped — only the latest matters); once
    /// the sender is gone the last unsaved value is saved and the task ends.
    /// Await it before [`StoreHandle::close`] so the final checkpoint is on disk.
    /// `saved` hears of each COMMIT: (bytes, seconds from the saver taking the
    /// value to the COMMIT), for the caller's metrics (the store has none).
    pub fn keep_checkpoint<T: Send + Sync + 'static>(
        &self,
        mut latest: watch::Receiver<Option<Arc<T>>>,
        encode: fn(&T) -> Sealed,
        saved: impl Fn(usize, f64) + Send + 'static,
    ) -> JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            // `changed` reports a value not yet seen before it reports the close.
            while latest.changed().await.is_ok() {
                // Cloned out (an `Arc`): the borrow must not be held across an await.
                let Some(value) = latest.borrow_and_update().clone() else { continue };
                let started = Instant::now();
                let sealed = match tokio::task::spawn_blocking(move || encode(&value)).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "checkpoint encoding failed");
                        continue;
                    }
                };
                let encoded = started.elapsed();
                let bytes = sealed.len();
                match store.save_checkpoint(sealed).await {
                    Ok(()) => {
                        let total = started.elapsed();
                        saved(bytes, total.as_secs_f64());
                        tracing::debug!(
                            bytes,
                            encode_ms = encoded.as_millis() as u64,
                            total_ms = total.as_millis() as u64,
                            "checkpoint saved"
                        )
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot save the floor checkpoint"),
                }
            }
        })
    }
}
