//! The rules' learned traffic baselines, kept in the key/value table.
//!
//! The store owns the keys (`surge-baseline:<queue>`): callers speak of queues
//! and JSON, so no other module can collide with or misspell them. Saving goes
//! through [`StoreHandle::keep_baselines`], a saver task that takes the latest
//! value the engine published and waits for the COMMIT itself, so the engine —
//! the one serial stage of ingest — never waits behind the writer thread.

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{StoreError, StoreHandle};
use crate::event::Id;

/// Key prefix of baselines in the key/value table; what follows is the queue id.
const KEY_PREFIX: &str = "surge-baseline:";

impl StoreHandle {
    /// Every saved baseline: (queue, JSON), by queue.
    pub async fn load_baselines(&self) -> Result<Vec<(Id, String)>, StoreError> {
        let kv = self.kv_with_prefix(KEY_PREFIX.into()).await?;
        Ok(kv.into_iter().filter_map(|(k, v)| k.strip_prefix(KEY_PREFIX).map(|q| (Id::from(q), v))).collect())
    }

    /// Upserts every baseline in one transaction; returns after COMMIT.
    pub async fn save_baselines(&self, baselines: Vec<(Id, String)>) -> Result<(), StoreError> {
        let kv = baselines.into_iter().map(|(q, json)| (format!("{KEY_PREFIX}{q}"), json)).collect();
        self.put_kvs(kv).await
    }

    /// Starts the saver: each value published on `latest` is saved (a value
    /// replaced before the saver got to it is skipped — only the latest
    /// matters), and once the sender is gone the last unsaved value is saved and
    /// the task ends. Await it before [`StoreHandle::close`] so the final
    /// baselines are on disk.
    pub fn keep_baselines(&self, mut latest: watch::Receiver<Vec<(Id, String)>>) -> JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            // `changed` reports a value not yet seen before it reports the close.
            while latest.changed().await.is_ok() {
                // Copied out: the borrow must not be held across the COMMIT.
                let baselines = latest.borrow_and_update().clone();
                if baselines.is_empty() {
                    continue;
                }
                if let Err(e) = store.save_baselines(baselines).await {
                    tracing::warn!(error = %e, "cannot save traffic baselines");
                }
            }
        })
    }
}
