//! `serve --record FILE`: every accepted event, as the canonical JSON lines
//! `replay --format canonical` reads (one event per line, `source` and `seq`
//! included), so any site can replay its own day.
//!
//! Where: [`super::Connection::accept`] hands each frame's accepted events
//! (after dedupe, once the engine has taken them) to a [`Recorder`] — one send
//! per frame, never per event. What is recorded is what was counted.
//!
//! Channel policy: bounded and lossless. A full channel (a slow disk) makes the
//! session wait, as a full engine channel does: backpressure to the sender,
//! never a silent drop. The writer is one blocking task that owns the file:
//! it encodes, writes through a buffer, flushes whenever the channel is empty
//! (so a quiet floor's lines are on disk within a moment), and flushes and syncs
//! when every sender is gone — the graceful shutdown, after the HTTP server has
//! stopped — before it ends. The daemon's supervisor watches it: a recorder
//! that dies (a full disk) shuts the daemon down with an error rather than let it
//! serve a floor that is silently no longer recorded.
//!
//! Files: `FILE` names the series. `floor.jsonl` is written as
//! `floor-2026-11-23.000.jsonl`, then `floor-2026-11-23.001.jsonl`, … when a
//! part reaches `max_bytes`: numbered so a shell's `floor-2026-11-23.*.jsonl`
//! lists them in order, which is the order replay's `seq` dedupe needs
//! (`cat` them into one file to replay the day). A new day (in the floor's time zone, by the time of the
//! events: a replayed day is that day's events) starts a new file; events
//! arriving late for a day already closed go to the current file, where replay's
//! sort puts them in place. A restart appends to the day's last part.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::metrics::RecordMetrics;
use crate::event::{Event, Ts};

/// Recording, as `serve --record` asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordConfig {
    /// The series' name: its directory, stem and extension (see the module docs).
    pub path: PathBuf,
    /// A part is closed once it holds this many bytes.
    pub max_bytes: u64,
    /// Days are the floor's.
    pub timezone: Tz,
}

/// The default size of a part: a large floor's busy day is a few GB of events,
/// so a day comes in files a text editor and `replay` open comfortably.
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Frames in flight to the writer before sessions wait.
const CAPACITY: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot record to {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("recording to {path} failed: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The sending side, cloned into the intake.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Vec<Event>>,
}

/// The writer has stopped (its error is logged and ends the daemon).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the recorder has stopped")]
pub struct RecorderStopped;

impl Recorder {
    /// Hands one frame's events to the writer, waiting for room.
    pub async fn record(&self, events: Vec<Event>) -> Result<(), RecorderStopped> {
        self.tx.send(events).await.map_err(|_| RecorderStopped)
    }
}

/// Opens the first part (so a bad path fails the start, not the first event) and
/// starts the writer; it ends when every [`Recorder`] is dropped, or on a write
/// error. What it writes is counted in `metrics`.
pub fn spawn(cfg: RecordConfig, metrics: RecordMetrics) -> Result<(Recorder, JoinHandle<()>), RecordError> {
    let (tx, rx) = mpsc::channel(CAPACITY);
    let writer = Writer::new(cfg, metrics.clone())?;
    let task = tokio::task::spawn_blocking(move || {
        if let Err(e) = writer.run(rx) {
            metrics.write_errors.inc();
            tracing::error!(error = %e, "recorder stopped");
        }
    });
    Ok((Recorder { tx }, task))
}

/// The file of the current part.
struct Writer {
    cfg: RecordConfig,
    metrics: RecordMetrics,
    /// None until the first event tells the day.
    out: Option<Part>,
    line: String,
}

struct Part {
    day: NaiveDate,
    index: u32,
    path: PathBuf,
    file: BufWriter<File>,
    bytes: u64,
}

impl Writer {
    fn new(cfg: RecordConfig, metrics: RecordMetrics) -> Result<Writer, RecordError> {
        // Fail early on a directory that cannot be written.
        let dir = cfg.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|source| RecordError::Open { path: dir.to_path_buf(), source })?;
        let probe = dir.join(".floorwatch-record-probe");
        File::create(&probe).map_err(|source| RecordError::Open { path: dir.to_path_buf(), source })?;
        let _ = std::fs::remove_file(&probe);
        Ok(Writer { cfg, metrics, out: None, line: String::with_capacity(256) })
    }

    fn run(mut self, mut rx: mpsc::Receiver<Vec<Event>>) -> Result<(), RecordError> {
        let mut events = 0u64;
        while let Some(batch) = rx.blocking_recv() {
            events += batch.len() as u64;
            self.write(&batch)?;
            // Whatever else is queued goes into the same buffer; then to disk.
            while let Ok(batch) = rx.try_recv() {
                events += batch.len() as u64;
                self.write(&batch)?;
            }
            self.flush(false)?;
        }
        self.flush(true)?;
        tracing::info!(events, "recorder drained");
        Ok(())
    }

    fn write(&mut self, batch: &[Event]) -> Result<(), RecordError> {
        let Some(first) = batch.first() else { return Ok(()) };
        self.line.clear();
        for e in batch {
            super::canonical::encode(e, &mut self.line);
            self.line.push('\n');
        }
        let day = self.day_of(first.ts);
        let len = self.line.len() as u64;
        let rotate = match &self.out {
            None => true,
            Some(p) => day.is_some_and(|d| d > p.day) || (p.bytes > 0 && p.bytes + len > self.cfg.max_bytes),
        };
        if rotate {
            if self.out.is_some() {
                self.metrics.rotations.inc();
            }
            self.rotate(day)?;
        }
        let Some(p) = self.out.as_mut() else { return Ok(()) };
        p.file
            .write_all(self.line.as_bytes())
            .map_err(|source| RecordError::Write { path: p.path.clone(), source })?;
        p.bytes += len;
        self.metrics.lines.inc_by(batch.len() as u64);
        self.metrics.bytes.inc_by(len);
        Ok(())
    }

    fn day_of(&self, ts: Ts) -> Option<NaiveDate> {
        DateTime::from_timestamp_millis(ts).map(|t| t.with_timezone(&self.cfg.timezone).date_naive())
    }

    /// Closes the current part and opens the next: the next index of the same
    /// day, or the first free part of a later `day`.
    fn rotate(&mut self, day: Option<NaiveDate>) -> Result<(), RecordError> {
        let (day, mut index) = match (&self.out, day) {
            (Some(p), Some(d)) if d > p.day => (d, 0),
            (Some(p), _) => (p.day, p.index + 1),
            (None, Some(d)) => (d, 0),
            // A time chrono cannot place: the epoch's day, rather than no file.
            (None, None) => (NaiveDate::default(), 0),
        };
        self.flush(true)?;
        // After a restart, append to the day's last part that has room.
        loop {
            let path = part_path(&self.cfg.path, day, index);
            let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
            let next = part_path(&self.cfg.path, day, index + 1);
            if bytes >= self.cfg.max_bytes || next.exists() {
                index += 1;
                continue;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|source| RecordError::Open { path: path.clone(), source })?;
            tracing::info!(path = %path.display(), "recording to a new part");
            self.out = Some(Part { day, index, path, file: BufWriter::with_capacity(1 << 16, file), bytes });
            return Ok(());
        }
    }

    fn flush(&mut self, sync: bool) -> Result<(), RecordError> {
        let Some(p) = self.out.as_mut() else { return Ok(()) };
        let err = |source| RecordError::Write { path: p.path.clone(), source };
        p.file.flush().map_err(err)?;
        if sync {
            p.file
                .get_ref()
                .sync_all()
                .map_err(|source| RecordError::Write { path: p.path.clone(), source })?;
        }
        Ok(())
    }
}

/// `dir/stem-YYYY-MM-DD.NNN.ext` for the `index`th part of `day`.
pub fn part_path(series: &Path, day: NaiveDate, index: u32) -> PathBuf {
    let stem = series.file_stem().map_or_else(|| "floorwatch".into(), |s| s.to_string_lossy().into_owned());
    let ext = series.extension().map_or_else(|| "jsonl".into(), |s| s.to_string_lossy().into_owned());
    series.with_file_name(format!("{stem}-{day}.{index:03}.{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, Id};

    const T0: Ts = 1_795_420_800_000; // 2026-11-23T08:00:00Z, 16:00 in Shanghai

    fn hb(ts: Ts, seq: u64) -> Event {
        Event { ts, source: Id::from("acd"), seq: Some(seq), kind: EventKind::Heartbeat }
    }

    fn cfg(dir: &Path, max_bytes: u64) -> RecordConfig {
        RecordConfig { path: dir.join("floor.jsonl"), max_bytes, timezone: chrono_tz::Asia::Shanghai }
    }

    async fn record(cfg: RecordConfig, frames: Vec<Vec<Event>>) -> RecordMetrics {
        let metrics = RecordMetrics::new();
        let (rec, task) = spawn(cfg, metrics.clone()).expect("spawn");
        for f in frames {
            rec.record(f).await.expect("recorder running");
        }
        drop(rec);
        task.await.expect("recorder ends");
        metrics
    }

    fn read(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p).expect("part").lines().map(str::to_owned).collect()
    }

    /// A new local day starts a new file; a late event stays in the current one;
    /// everything is on disk when the last sender is gone.
    #[tokio::test]
    async fn days_are_the_floors_and_everything_is_flushed_at_the_end() {
        let dir = tempfile::tempdir().expect("tmp");
        let day = 86_400_000;
        // 16:00 local; then 08:00 the next local day (00:00Z); then a late one.
        record(
            cfg(dir.path(), DEFAULT_MAX_BYTES),
            vec![vec![hb(T0, 1), hb(T0 + 1, 2)], vec![hb(T0 + day / 3, 3)], vec![hb(T0 - 5, 4)]],
        )
        .await;
        let d1 = read(&dir.path().join("floor-2026-11-23.000.jsonl"));
        let d2 = read(&dir.path().join("floor-2026-11-24.000.jsonl"));
        assert_eq!((d1.len(), d2.len()), (2, 2));
        assert!(d2[1].contains("\"seq\":4") && d2[1].contains("\"source\":\"acd\""), "{d2:?}");
    }

    /// A part closes at its size; a restart appends to the day's last part.
    #[tokio::test]
    async fn parts_close_at_their_size_and_a_restart_appends() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut one = String::new();
        super::super::canonical::encode(&hb(T0, 1), &mut one);
        let line = one.len() as u64 + 1;
        let c = cfg(dir.path(), 2 * line);
        let m = record(c.clone(), (1..=5).map(|s| vec![hb(T0, s)]).collect()).await;
        // Five lines in three parts: two rotations, every byte on disk counted.
        assert_eq!((m.lines.get(), m.bytes.get(), m.rotations.get()), (5, 5 * line, 2));
        assert_eq!(m.write_errors.get(), 0);
        let sizes: Vec<usize> = (0..3)
            .map(|i| read(&part_path(&c.path, NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"), i)).len())
            .collect();
        assert_eq!(sizes, [2, 2, 1]);
        record(c.clone(), vec![vec![hb(T0, 6)]]).await;
        let last = read(&part_path(&c.path, NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"), 2));
        assert_eq!(last.len(), 2, "appended to the part with room");
    }

    #[test]
    fn a_directory_that_cannot_be_written_fails_the_start() {
        let c = RecordConfig {
            path: PathBuf::from("/proc/floorwatch/x.jsonl"),
            max_bytes: 1,
            timezone: chrono_tz::UTC,
        };
        assert!(matches!(Writer::new(c, RecordMetrics::new()), Err(RecordError::Open { .. })));
    }

    /// A part that cannot be opened (its directory gone since the start) stops
    /// the recorder, counted as a write error; nothing is counted as written.
    #[tokio::test]
    async fn a_part_that_cannot_be_opened_is_a_counted_write_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let sub = dir.path().join("gone");
        let c = RecordConfig {
            path: sub.join("floor.jsonl"),
            max_bytes: DEFAULT_MAX_BYTES,
            timezone: chrono_tz::UTC,
        };
        let metrics = RecordMetrics::new();
        let (rec, task) = spawn(c, metrics.clone()).expect("spawn");
        std::fs::remove_dir(&sub).expect("rmdir");
        // The writer may stop before this frame is taken: either way it is not written.
        let _ = rec.record(vec![hb(T0, 1)]).await;
        drop(rec);
        task.await.expect("recorder ends");
        assert_eq!((metrics.write_errors.get(), metrics.lines.get(), metrics.rotations.get()), (1, 0, 0));
    }
}
