//! Pacing and framing: turns the model's simulated time into frames due now.
//!
//! Owns the sequence numbers, so they survive reconnects, and the few frames just
//! written, so a connection that dies with them unread does not leave a gap: they
//! go again under the same numbers and the daemon drops what it already has.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::SimConfig;
use super::event::{SimEvent, batch_json};
use super::model::SimModel;

/// Frames written this recently are resent after a reconnect.
const REPLAY_WINDOW: Duration = Duration::from_secs(1);
const REPLAY_MAX_FRAMES: usize = 32;
/// Most frames queued before the model stops advancing: when the daemon cannot
/// keep up the floor falls behind real time rather than filling memory.
const MAX_QUEUED_FRAMES: usize = 16;
/// The model runs in slices of this much simulated time when catching up.
const SLICE_MS: i64 = 1000;

/// One frame ready to write: a JSON array of events with consecutive `seq`s.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    pub(super) text: Utf8Bytes,
    pub(super) events: u64,
    pub(super) first_seq: u64,
}

#[derive(Debug)]
pub(super) struct Feed {
    model: SimModel,
    sim_start_ms: i64,
    wall_start: Instant,
    speed: f64,
    source: String,
    max_batch: usize,
    next_seq: u64,
    buf: Vec<SimEvent>,
    queue: VecDeque<Frame>,
    recent: VecDeque<(Instant, Frame)>,
    outage_every: Duration,
    outage_len: Duration,
}

impl Feed {
    pub(super) fn new(cfg: &SimConfig, sim_start: DateTime<Utc>, wall_start: Instant) -> Feed {
        Feed {
            model: SimModel::new(cfg, sim_start),
            sim_start_ms: sim_start.timestamp_millis(),
            wall_start,
            speed: cfg.speed,
            source: cfg.source.clone(),
            max_batch: cfg.max_batch.max(1),
            next_seq: 1,
            buf: Vec::new(),
            queue: VecDeque::new(),
            recent: VecDeque::new(),
            outage_every: Duration::from_secs(cfg.link_outage_every_secs),
            outage_len: Duration::from_secs(cfg.link_outage_secs),
        }
    }

    /// Whether the simulated CTI link is down at `now`: the last `outage_len` of
    /// every `outage_every` of simulated time (so a sped-up demo keeps its outages
    /// in step with the daemon's clock and its source timeout).
    pub(super) fn in_outage(&self, now: Instant) -> bool {
        if self.outage_every.is_zero() || self.outage_len >= self.outage_every {
            return false;
        }
        let real = now.saturating_duration_since(self.wall_start).as_secs_f64();
        let elapsed = (real * self.speed * 1000.0) as u128;
        let period = self.outage_every.as_millis();
        elapsed % period >= period - self.outage_len.as_millis()
    }

    /// Runs the model up to the simulated present (start + elapsed × speed) and
    /// frames everything that became due.
    pub(super) fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.wall_start);
        let target = self.sim_start_ms + (elapsed.as_secs_f64() * self.speed * 1000.0) as i64;
        let mut t = self.model.now().timestamp_millis();
        while t < target && self.queue.len() < MAX_QUEUED_FRAMES {
            t = (t + SLICE_MS).min(target);
            let Some(at) = DateTime::from_timestamp_millis(t) else { return };
            self.model.advance_to(at, &mut self.buf);
            self.cut();
        }
    }

    fn cut(&mut self) {
        for chunk in self.buf.chunks(self.max_batch) {
            let text = batch_json(chunk, self.next_seq, &self.source);
            self.queue.push_back(Frame {
                text: Utf8Bytes::from(text),
                events: chunk.len() as u64,
                first_seq: self.next_seq,
            });
            self.next_seq += chunk.len() as u64;
        }
        self.buf.clear();
    }

    /// The next frame to write, if any.
    pub(super) fn next_frame(&self) -> Option<&Frame> {
        self.queue.front()
    }

    /// The frame from [`Feed::next_frame`] was written at `now`.
    pub(super) fn sent(&mut self, now: Instant) {
        if let Some(frame) = self.queue.pop_front() {
            self.recent.push_back((now, frame));
        }
        while self.recent.len() > REPLAY_MAX_FRAMES
            || self.recent.front().is_some_and(|(at, _)| now.duration_since(*at) > REPLAY_WINDOW)
        {
            self.recent.pop_front();
        }
    }

    /// After a reconnect: the frames written just before the drop go first again.
    pub(super) fn rewind(&mut self) {
        while let Some((_, frame)) = self.recent.pop_back() {
            self.queue.push_front(frame);
        }
    }
}
