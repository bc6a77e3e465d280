//! The one hand-off every source uses: whatever reads a feed (the canonical
//! WebSocket session today; dial-out clients and NATS next) decodes it into
//! [`Event`]s and [`Rejection`]s and gives them to its [`Connection`], which
//! does the rest the same way for all of them: drops `seq` duplicates, counts
//! gaps and rejections, and sends the batch to the floor engine.
//!
//! Backpressure: the engine channel is bounded and nothing here drops. A full
//! channel makes [`Connection::accept`] wait, so the source stops reading and its
//! sender is slowed down (TCP flow control for a socket).
//!
//! The engine learns of each connection (`EngineInput::Connection` +1 at
//! [`Intake::open`], −1 at [`Connection::close`] or, if a source forgets or is
//! cancelled, when the `Connection` is dropped), which is what `source_down` and
//! the sources on the wall are built on: a forgotten −1 would keep a dead source
//! connected forever, so there is no path without one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::dedupe::SeqMarks;
use super::record::Recorder;
use super::{IngestMetrics, RefuseReason, RejectReason, Rejection};
use crate::engine::EngineInput;
use crate::event::{Event, Id};

/// Built once (in `app`) and cloned into every source; clones share the engine
/// sender, the `seq` marks and the counters.
#[derive(Clone)]
pub struct Intake {
    inner: Arc<Inner>,
}

struct Inner {
    engine: mpsc::Sender<EngineInput>,
    /// Shared by every connection, so a bridge that reconnects (possibly before
    /// its old connection is noticed dead) and replays has the replay dropped.
    marks: SeqMarks,
    metrics: IngestMetrics,
    /// Numbers connections that name no source (`conn-1`, `conn-2`, …).
    unnamed: AtomicU64,
    /// `serve --record`: where accepted frames are written, after the engine has them.
    recorder: Option<Recorder>,
}

/// The engine has stopped (the daemon is shutting down): the source should stop
/// reading and close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the floor engine has stopped")]
pub struct EngineStopped;

impl Intake {
    pub fn new(engine: mpsc::Sender<EngineInput>, metrics: IngestMetrics) -> Intake {
        Intake::with_recorder(engine, metrics, None)
    }

    /// As [`Intake::new`], every accepted frame also going to `recorder`.
    pub fn with_recorder(
        engine: mpsc::Sender<EngineInput>,
        metrics: IngestMetrics,
        recorder: Option<Recorder>,
    ) -> Intake {
        let inner = Inner { engine, marks: SeqMarks::new(), metrics, unnamed: AtomicU64::new(0), recorder };
        Intake { inner: Arc::new(inner) }
    }

    /// Bounds the `seq` marks to `n` sources (`limits.max_sources`, the
    /// floor's bound too): a source beyond it is not deduplicated, and the floor
    /// refuses its events anyway. Call right after building.
    pub fn with_max_sources(mut self, n: usize) -> Intake {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.marks.set_max_sources(n);
        }
        self
    }

    /// A fresh id for a connection that names no source: `conn-N`, numbered from 1.
    pub fn unnamed_source(&self) -> Id {
        Id::from(format!("conn-{}", self.inner.unnamed.fetch_add(1, Ordering::Relaxed) + 1))
    }

    /// Counts a source refused before it could open (bad token, over the limit).
    pub fn refuse(&self, reason: RefuseReason) {
        self.inner.metrics.refuse(reason);
    }

    /// Announces a connection of `source` to the engine; `named` when the source
    /// chose its id (only those are watched for `source_down`). Waits for room in
    /// the engine channel, like every send here.
    /// Cancel-safe: nothing is counted or sent before there is room, and from then
    /// on the returned `Connection` owns the close.
    pub async fn open(&self, source: Id, named: bool) -> Connection {
        let permit = self.inner.engine.reserve().await;
        let m = &self.inner.metrics;
        m.connections.inc();
        m.connections_total.inc();
        tracing::info!(%source, "ingest connection opened");
        // An engine that is gone ends the daemon; the source finds out at its
        // first batch.
        if let Ok(permit) = permit {
            permit.send(EngineInput::Connection { source: source.clone(), delta: 1, named });
        }
        Connection { intake: self.clone(), source, named, state: State::Open }
    }

    /// The `seq` marks: restored from the checkpoint at start (before any
    /// source opens), and read by tests that look at what dedupe kept.
    pub fn marks(&self) -> &SeqMarks {
        &self.inner.marks
    }
}

/// One open connection of a source. Close it with [`Connection::close`]; if it is
/// dropped instead, the close is still announced.
pub struct Connection {
    intake: Intake,
    source: Id,
    named: bool,
    state: State,
}

/// How far the close has gone, so that neither the gauge nor the engine hears
/// it twice, whichever of `close` or `drop` finishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// Counted and logged as closed; the engine not yet told.
    Closing,
    Closed,
}

impl Connection {
    /// The connection's own source id: events that name none are its.
    pub fn source(&self) -> &Id {
        &self.source
    }

    /// Takes in one decoded frame (or message): counts it and its `rejected`
    /// events by reason (answering the sender, if the source can, is the
    /// source's part), drops `seq` duplicates, tells the engine of gaps, and
    /// sends the rest as one batch, waiting for room. `events` is left empty,
    /// sized for a frame like this one.
    pub async fn accept(&self, events: &mut Vec<Event>, rejected: &[Rejection]) -> Result<(), EngineStopped> {
        let m = &self.intake.inner.metrics;
        m.frames.inc();
        for r in rejected {
            self.reject(r);
        }
        if let Some(gaps) = self.dedupe(events) {
            self.intake.inner.engine.send(gaps).await.map_err(|_| EngineStopped)?;
        }
        if events.is_empty() {
            return Ok(());
        }
        // The batch goes to the engine; the next one starts sized like it (a
        // source's frames are alike), so decoding does not regrow it.
        let len = events.len();
        let batch = std::mem::replace(events, Vec::with_capacity(len));
        let Some(recorder) = &self.intake.inner.recorder else {
            return self.intake.inner.engine.send(EngineInput::Batch(batch)).await.map_err(|_| EngineStopped);
        };
        // Recorded once the engine has it: what is recorded is what was counted.
        // One copy and one send per frame; the writer encodes on its own thread.
        let copy = batch.clone();
        self.intake.inner.engine.send(EngineInput::Batch(batch)).await.map_err(|_| EngineStopped)?;
        if recorder.record(copy).await.is_err() {
            // The writer's own error ended it, and its supervisor ends the daemon.
            tracing::error!(source = %self.source, events = len, "recorder has stopped; frame not recorded");
        }
        Ok(())
    }

    /// Tells the engine that a durable log's messages up to `seq` are handed
    /// over (`ingest::nats`): sent behind their batches on the same ordered
    /// channel, so the checkpoint that holds the mark holds their effects.
    pub async fn mark_stream(&self, consumer: Id, seq: u64) -> Result<(), EngineStopped> {
        let input = EngineInput::StreamMark { consumer, seq };
        self.intake.inner.engine.send(input).await.map_err(|_| EngineStopped)
    }

    /// Counts a pause of this connection's reads by its rate limit.
    pub fn throttled(&self, paused: std::time::Duration) {
        self.intake.inner.metrics.throttled(paused);
        tracing::debug!(source = %self.source, paused_ms = paused.as_millis() as u64, "ingest connection throttled");
    }

    /// Counts a rejection that came without a frame to accept (one too large to
    /// read, say).
    pub fn reject(&self, r: &Rejection) {
        self.intake.inner.metrics.reject(r.reason);
        tracing::debug!(source = %self.source, reason = %r.reason, index = ?r.index, "event rejected");
    }

    /// Drops events whose `seq` is not above their source's mark; counts gaps,
    /// and returns them for the engine's event-loss signature.
    fn dedupe(&self, events: &mut Vec<Event>) -> Option<EngineInput> {
        let (marks, m) = (&self.intake.inner.marks, &self.intake.inner.metrics);
        let r = marks.filter(events);
        if r.duplicates > 0 {
            m.rejected[RejectReason::Duplicate.index()].inc_by(r.duplicates);
            tracing::debug!(source = %self.source, dropped = r.duplicates, "duplicate events dropped");
        }
        if r.gaps > 0 {
            m.seq_gaps.inc_by(r.gaps);
            m.seq_missing.inc_by(r.missing);
            tracing::warn!(source = %self.source, gaps = r.gaps, missing = r.missing, "sequence gap");
            let source = events.first().map_or_else(|| self.source.clone(), |e| e.source.clone());
            return Some(EngineInput::SeqGaps { source, gaps: r.gaps, missing: r.missing });
        }
        None
    }

    /// Announces the close to the engine, waiting for room.
    pub async fn close(mut self) {
        self.count_closed();
        // Cancel-safe: until the permit is had nothing is sent, and a drop then
        // sends the close instead.
        if let Ok(permit) = self.intake.inner.engine.reserve().await {
            permit.send(self.closed_input());
        }
        self.state = State::Closed;
    }

    fn count_closed(&mut self) {
        if self.state == State::Open {
            self.state = State::Closing;
            self.intake.inner.metrics.connections.dec();
            tracing::info!(source = %self.source, "ingest connection closed");
        }
    }

    fn closed_input(&self) -> EngineInput {
        EngineInput::Connection { source: self.source.clone(), delta: -1, named: self.named }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.state == State::Closed {
            return;
        }
        self.count_closed();
        let input = self.closed_input();
        match self.intake.inner.engine.try_send(input) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            // A drop cannot wait: the close waits for room on a task of its own
            // (the channel is lossless, and this is the rare path).
            Err(TrySendError::Full(input)) => match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    let engine = self.intake.inner.engine.clone();
                    rt.spawn(async move {
                        let _ = engine.send(input).await;
                    });
                }
                Err(_) => {
                    tracing::warn!(source = %self.source, "ingest connection close not announced: no runtime")
                }
            },
        }
    }
}

#[cfg(test)]
mod tests;
