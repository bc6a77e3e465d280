//! Replay: a recorded floor through the engine on the stream's own clock.
//!
//! Pure-ish: text in, a [`report::Report`] out, no IO, no tasks, no network (the
//! command in `cli::replay` reads the file and writes the report). The one engine
//! [`Step`] is driven exactly as the live engine task drives it, except that time
//! is the events' own: events are applied in time order (one batch per distinct
//! timestamp, `now` = that timestamp), and between two events stream time passes
//! as it would live.
//!
//! # How time passes, and what is skipped
//! The live engine calls [`Step::tick`] once a second and [`Step::on_deadline`]
//! whenever [`Step::next_deadline`] comes. A month is 2.6 million seconds; the
//! February file has ~146,000 events. [`Ticking::EverySecond`] does what the
//! live engine did before the rules learnt to be quiet: a tick every second and
//! a full sweep on every point of the rules' 5 s grid (the reference, used by the
//! equivalence tests). [`Ticking::Deadlines`] — what `replay` runs — visits only
//! [`Step::next_deadline`], calling `tick` at those that fall on a whole second.
//! That is the same run, because nothing between two deadlines does anything:
//! - the rules' overruns are a deadline heap;
//! - their sweep (queues, sources, surge detectors, fault signatures) runs only
//!   on its 5 s grid, and the rules know when a sweep may next change its mind
//!   ("quiet until": a window's slice leaving that flips a latch, a wait reaching
//!   its threshold, a hold-down ending, a surge interval closing, a source's
//!   timeout…; every input lowers it to what it may have changed). The next
//!   deadline is the first grid point at or after it; sweeps before it would
//!   find what the last one found, so they are skipped and the grid is kept;
//! - the floor's purge of old calls runs every 60 s from the first tick (a
//!   deadline of its own, on a whole second).
//!
//! A month of 5 s sweeps was 489,000 wake-ups, 80% of a replay's time; with the
//! quiet bounds February wakes ~68,000 times (most of them the floor's purge).
//! `tests::deadlines_raise_what_every_second_ticking_raises` (and its twin on
//! real rows) hold the two modes to the same report.
//!
//! # What a replay cannot know
//! - Connections: a file has none, so only silence makes a source "down". A data
//!   set without heartbeats (anonymous-bank) would go down every night:
//!   [`Options::judge_sources`] is off for it, and the report says so.
//! - The end of the file is not a source going down: `source_down` raised after the
//!   last event is left out. Time still passes after it for [`Options::tail_ms`],
//!   so an agent left in ACW by the last event is still overrun.

pub mod html;
pub mod report;

use std::collections::BTreeMap;

use tokio::time::Instant;

use crate::config::Config;
use crate::engine::Step;
use crate::event::{Event, Id, Ts};
use crate::ingest::anonymous_bank::{self, Reading};
use crate::ingest::canonical;
use crate::ingest::dedupe::SeqMarks;
use report::{Collector, Report};

/// The formats `replay --format` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON lines of contract §3's events (one event or one array per line), as
    /// `serve --record` writes them.
    Canonical,
    /// The Technion "Anonymous Bank" call log ([`anonymous_bank`]).
    AnonymousBank,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Canonical => "canonical",
            Format::AnonymousBank => "anonymous-bank",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    AnonymousBank(#[from] anonymous_bank::Error),
    #[error("the file holds no event to replay")]
    NoEvents,
}

/// A `seq` gap as live ingest would have reported it, at the event after it.
#[derive(Debug, Clone)]
pub struct Gap {
    pub ts: Ts,
    pub source: Id,
    pub gaps: u64,
    pub missing: u64,
}

/// What reading a canonical file found.
#[derive(Debug, Clone, Default)]
pub struct CanonicalStats {
    /// Non-empty lines.
    pub lines: u64,
    /// Events refused by the decoder, by reason label.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Events dropped as `seq` duplicates (as live ingest would).
    pub duplicates: u64,
    pub gaps: u64,
}

/// Where the events came from, and what the reader made of it.
#[derive(Debug, Clone)]
pub enum Origin {
    Canonical(CanonicalStats),
    /// The reading without its events (they are the stream's).
    AnonymousBank(Box<Reading>),
}

/// Events to replay, in time order.
#[derive(Debug, Clone)]
pub struct Stream {
    pub format: Format,
    pub events: Vec<Event>,
    pub gaps: Vec<Gap>,
    pub origin: Origin,
}

impl Stream {
    /// Reads `text` in `format`.
    pub fn read(format: Format, text: &str) -> Result<Stream, ReplayError> {
        let stream = match format {
            Format::Canonical => read_canonical(text),
            Format::AnonymousBank => {
                let mut reading = anonymous_bank::read(text, &anonymous_bank::Options::default())?;
                let events = std::mem::take(&mut reading.events);
                let origin = Origin::AnonymousBank(Box::new(reading));
                Stream { format, events, gaps: Vec::new(), origin }
            }
        };
        if stream.events.is_empty() {
            return Err(ReplayError::NoEvents);
        }
        Ok(stream)
    }
}

/// A recording: every line decoded like one ingest frame (events that name no
/// source are `replay`'s), deduplicated by `seq` in file order as live ingest
/// did, then sorted by time (stable: equal times keep file order).
fn read_canonical(text: &str) -> Stream {
    let default_source = Id::const_new("replay");
    let marks = SeqMarks::new();
    let mut stats = CanonicalStats::default();
    let mut events = Vec::new();
    let mut gaps = Vec::new();
    let (mut frame, mut rejected) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        stats.lines += 1;
        canonical::decode(line, &default_source, &mut frame, &mut rejected);
        for r in rejected.drain(..) {
            *stats.rejected.entry(r.reason.as_label()).or_insert(0) += 1;
        }
        let seq = marks.filter(&mut frame);
        stats.duplicates += seq.duplicates;
        if seq.gaps > 0
            && let Some(first) = frame.first()
        {
            stats.gaps += seq.gaps;
            gaps.push(Gap {
                ts: first.ts,
                source: first.source.clone(),
                gaps: seq.gaps,
                missing: seq.missing,
            });
        }
        events.append(&mut frame);
    }
    events.sort_by_key(|e| e.ts);
    gaps.sort_by_key(|g| g.ts);
    Stream { format: Format::Canonical, events, gaps, origin: Origin::Canonical(stats) }
}

/// How stream time passes between events (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ticking {
    /// As the live engine: a tick every whole second, and every deadline.
    EverySecond,
    /// Only the deadlines: the same alerts, without the idle seconds.
    Deadlines,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub ticking: Ticking,
    /// Stream time that passes after the last event, ms.
    pub tail_ms: Ts,
    /// Whether silence makes a source `source_down` (off for data without heartbeats).
    pub judge_sources: bool,
    /// Agent presence is inferred from the calls, not in the data (anonymous-bank):
    /// the stuck-dispatcher signature, whose evidence is ready agents, is off.
    pub presence_inferred: bool,
    /// The floor's time zone, when the data fixes it (the Anonymous Bank is in
    /// Israel): the surge profiles' weekdays and the report's days are local to it.
    pub timezone: Option<chrono_tz::Tz>,
}

impl Options {
    /// What `replay` runs for `format` under `cfg`: the tail lets the longest
    /// overrun the config knows reach its critical level after the last event.
    pub fn for_format(format: Format, cfg: &Config) -> Options {
        let a = &cfg.alerts;
        let longest = [a.acw_overrun_secs, a.busy_default_secs]
            .into_iter()
            .chain(a.acw_overrun_secs_by_team.values().copied())
            .chain(a.acw_overrun_secs_by_queue.values().copied())
            .chain(a.busy_limit_secs.values().copied())
            .max()
            .unwrap_or(0);
        let tail_ms = (f64::from(longest) * a.critical_factor.max(1.0) * 1000.0) as Ts + 1000;
        let bank = format == Format::AnonymousBank;
        Options {
            ticking: Ticking::Deadlines,
            tail_ms,
            judge_sources: !bank,
            presence_inferred: bank,
            timezone: bank.then_some(chrono_tz::Asia::Jerusalem),
        }
    }
}

/// Where a replay's time went, for the bench and `--verbose` users.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Applying the batches (floor and rules).
    pub step_secs: f64,
    /// Letting time pass between them (ticks, deadlines, sweeps): the engine's
    /// work on stream time alone, without collecting for the report.
    pub ticks_secs: f64,
    /// Collecting alerts and counts into the report.
    pub report_secs: f64,
    /// How often time was let pass (ticks plus deadline wake-ups).
    pub wakeups: u64,
    /// The part of `report_secs` spent inside `pass` (taken off `ticks_secs`).
    collect_in_ticks: f64,
    pub batches: u64,
}

/// Runs `stream` through one engine step configured by `cfg`. `progress` is told
/// (events done, events in all) now and then.
pub fn run(
    stream: Stream,
    cfg: &Config,
    opts: &Options,
    progress: &mut dyn FnMut(u64, u64),
) -> (Report, Timings) {
    let mut cfg = cfg.clone();
    if !opts.judge_sources {
        // Far beyond any file: silence never makes the source down.
        cfg.alerts.source_timeout_secs = u32::MAX;
    }
    if let Some(tz) = opts.timezone {
        cfg.floor.timezone = tz;
    }
    let Stream { format, events, gaps, origin } = stream;
    let total = events.len() as u64;
    let first = events.first().map_or(0, |e| e.ts);
    let last = events.last().map_or(0, |e| e.ts);
    let mut d = Driver {
        step: Step::new(&cfg.floor, &cfg.alerts, Vec::new(), Vec::new()),
        collector: Collector::new(&cfg, first),
        ticking: opts.ticking,
        now: first.div_euclid(1000) * 1000,
        next_second: 0,
        timings: Timings::default(),
        tail: false,
    };
    d.step.on_stream_clock();
    if opts.ticking == Ticking::EverySecond {
        d.step.sweep_always();
    }
    if opts.presence_inferred {
        d.step.presence_inferred();
    }
    // The live engine ticks at once when it starts: that tick starts the sweep
    // and purge grids, on a whole second.
    let start = d.now;
    d.wake(start, true);
    d.next_second = start + 1000;

    let mut gaps = gaps.into_iter().peekable();
    let mut events = events.into_iter().peekable();
    let mut done = 0u64;
    let mut reported = 0u64;
    while let Some(head) = events.next() {
        let ts = head.ts;
        let t0 = Instant::now();
        d.pass(ts);
        d.timings.ticks_secs += t0.elapsed().as_secs_f64();
        while let Some(g) = gaps.next_if(|g| g.ts <= ts) {
            d.step.seq_gaps(&g.source, g.gaps, g.missing, ts);
        }
        let mut batch = vec![head];
        while let Some(e) = events.next_if(|e| e.ts == ts) {
            batch.push(e);
        }
        done += batch.len() as u64;
        let t0 = Instant::now();
        d.now = ts;
        d.step.batch(batch, ts);
        let t1 = Instant::now();
        d.collect(ts);
        d.timings.step_secs += (t1 - t0).as_secs_f64();
        d.timings.report_secs += t1.elapsed().as_secs_f64();
        d.timings.batches += 1;
        if done - reported > total / 200 {
            reported = done;
            progress(done, total);
        }
    }
    d.tail = true;
    let t0 = Instant::now();
    d.pass(last.saturating_add(opts.tail_ms).saturating_add(1));
    d.timings.ticks_secs += t0.elapsed().as_secs_f64();
    d.timings.ticks_secs -= std::mem::take(&mut d.timings.collect_in_ticks);
    progress(total, total);
    let t0 = Instant::now();
    let end = last.saturating_add(opts.tail_ms);
    let applied = d.step.events_applied();
    let report = d.collector.finish(report::Ending { format, origin, first, last, end, applied, opts });
    d.timings.report_secs += t0.elapsed().as_secs_f64();
    (report, d.timings)
}

struct Driver {
    step: Step,
    collector: Collector,
    ticking: Ticking,
    /// Stream time reached.
    now: Ts,
    /// The next whole second the live engine would tick at.
    next_second: Ts,
    timings: Timings,
    /// Past the last event.
    tail: bool,
}

impl Driver {
    /// Lets stream time pass up to just before `to`, as the live engine would.
    fn pass(&mut self, to: Ts) {
        loop {
            let deadline = self.step.next_deadline().max(self.now);
            let t = match self.ticking {
                Ticking::EverySecond => deadline.min(self.next_second),
                Ticking::Deadlines => deadline,
            };
            if t >= to {
                return;
            }
            let second = match self.ticking {
                Ticking::EverySecond => t == self.next_second,
                Ticking::Deadlines => t.rem_euclid(1000) == 0,
            };
            if t == self.next_second {
                self.next_second += 1000;
            }
            self.wake(t, second);
        }
    }

    /// One wake-up of the engine. Timed as a whole by the caller of `pass`, less
    /// the report's share (collecting, and judging each ended interval against
    /// the learned expectation for the report's chart), which replay alone does
    /// and which is counted apart so `ticks_secs` is the engine's own.
    fn wake(&mut self, t: Ts, second: bool) {
        self.now = t;
        if second {
            self.step.tick(t);
        } else {
            self.step.on_deadline(t);
        }
        let t0 = Instant::now();
        self.collect(t);
        let spent = t0.elapsed().as_secs_f64();
        self.timings.report_secs += spent;
        self.timings.collect_in_ticks += spent;
        self.timings.wakeups += 1;
    }

    fn collect(&mut self, now: Ts) {
        let counts = self.step.take_counts();
        if !counts.is_empty() {
            self.collector.on_counts(counts, now);
        }
        let signals = self.step.take_signals();
        if !signals.is_empty() {
            self.collector.on_signals(signals, now, self.tail);
        }
        self.collector.advance(now);
        // No call log or state log here (the report counts from `Counts`):
        // what the step set aside for the store is let go, not kept for the
        // whole file.
        drop(self.step.take_finished());
        drop(self.step.take_spans());
    }
}

#[cfg(test)]
mod tests;
