//! `floorwatch replay` (contract §1): a recorded floor through the engine.
//!
//! `--speed max` (the default): no daemon, no network — [`crate::replay`] runs
//! the file through one engine step on its own clock and the report goes to
//! `--report` (`.json` or `.html`) or, without one, as JSON to stdout.
//! `--speed FACTOR`: the events go to a running daemon's `/ingest` at FACTOR
//! times their own pace, for demos on real data (see [`feed`]).

use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};

use super::CliError;
use crate::clock::Clock;
use crate::config::{self, Config};
use crate::event::{Event, Ts};
use crate::ingest::canonical;
use crate::replay::{self, Format, Options, Stream};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Canonical,
    AnonymousBank,
}

#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// What the file holds: JSON lines of canonical events (as `serve --record`
    /// writes them) or the Anonymous Bank call log.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// The recorded floor.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// `max`: as fast as the engine goes, no daemon; a number: replay into a
    /// running daemon's /ingest at that many times the recording's own pace.
    #[arg(long, default_value = "max", value_parser = parse_speed)]
    speed: Speed,
    /// Where the report goes: OUT.json or OUT.html (default: JSON on stdout).
    #[arg(long, value_name = "OUT")]
    report: Option<PathBuf>,
    /// Config file for the floor, the rules and the playbooks (default: every default).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The daemon's ingest URL, for `--speed FACTOR`.
    #[arg(long, default_value = "ws://127.0.0.1:9720/ingest?source=replay")]
    url: String,
    /// Bearer token, if the daemon requires one (default: $FLOORWATCH_INGEST_TOKEN).
    #[arg(long, env = "FLOORWATCH_INGEST_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Speed {
    Max,
    Factor(f64),
}

fn parse_speed(s: &str) -> Result<Speed, String> {
    if s == "max" {
        return Ok(Speed::Max);
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Factor(f)),
        _ => Err(format!("{s:?} is neither `max` nor a positive number")),
    }
}

enum ReportKind {
    Json,
    Html,
}

pub(super) async fn run(args: Args) -> Result<(), CliError> {
    let format = match args.format {
        FormatArg::Canonical => Format::Canonical,
        FormatArg::AnonymousBank => Format::AnonymousBank,
    };
    let kind = match args.report.as_deref().and_then(Path::extension).and_then(|e| e.to_str()) {
        None if args.report.is_none() => ReportKind::Json,
        Some(e) if e.eq_ignore_ascii_case("json") => ReportKind::Json,
        Some(e) if e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm") => ReportKind::Html,
        _ => return Err(anyhow::anyhow!("--report must end in .json or .html").into()),
    };
    let cfg = config::load(args.config.as_deref(), &super::env())?;
    let file = args.file.clone();
    let text =
        tokio::fs::read_to_string(&file).await.with_context(|| format!("reading {}", file.display()))?;
    // Reading and the whole run are CPU work: off the runtime's workers.
    let stream = tokio::task::spawn_blocking(move || Stream::read(format, &text))
        .await
        .context("reader task failed")?
        .with_context(|| format!("reading {} as {}", file.display(), format.as_str()))?;
    match args.speed {
        Speed::Max => {
            let name = file
                .file_name()
                .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
            let out = tokio::task::spawn_blocking(move || offline(stream, &cfg, kind, &name))
                .await
                .context("replay task failed")??;
            match &args.report {
                Some(path) => {
                    tokio::fs::write(path, out)
                        .await
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("replay: report written to {}", path.display());
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout.write_all(out.as_bytes()).context("writing the report")?;
                }
            }
            Ok(())
        }
        Speed::Factor(f) => {
            if args.report.is_some() {
                return Err(anyhow::anyhow!(
                    "--report needs --speed max: a replay into a daemon is reported by the daemon"
                )
                .into());
            }
            feed(stream.events, f, &args.url, args.token.as_deref()).await.map_err(CliError::Other)
        }
    }
}

/// The offline run and its rendered report.
fn offline(stream: Stream, cfg: &Config, kind: ReportKind, name: &str) -> anyhow::Result<String> {
    let opts = Options::for_format(stream.format, cfg);
    let mut bar = Progress::new(std::io::stderr().is_terminal());
    let (report, timings) = replay::run(stream, cfg, &opts, &mut |done, total| bar.show(done, total));
    bar.done();
    tracing::info!(
        events = report.events.applied,
        alerts = report.alerts.len(),
        step_secs = timings.step_secs,
        ticks_secs = timings.ticks_secs,
        report_secs = timings.report_secs,
        wakeups = timings.wakeups,
        "replay done"
    );
    Ok(match kind {
        ReportKind::Json => {
            let mut s = serde_json::to_string_pretty(&report).context("encoding the report")?;
            s.push('\n');
            s
        }
        ReportKind::Html => replay::html::render(&report, name),
    })
}

/// A one-line bar on stderr, redrawn at most every percent; nothing at all when
/// stderr is not a terminal (a log or a pipe gets no carriage returns).
struct Progress {
    on: bool,
    last: u64,
}

impl Progress {
    fn new(on: bool) -> Progress {
        Progress { on, last: u64::MAX }
    }

    fn show(&mut self, done: u64, total: u64) {
        if !self.on || total == 0 {
            return;
        }
        let pct = done * 100 / total;
        if pct == self.last {
            return;
        }
        self.last = pct;
        let filled = (pct / 2) as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\rreplay [{}{}] {pct:3}% {done}/{total} events",
            "#".repeat(filled),
            " ".repeat(50 - filled)
        );
        let _ = err.flush();
    }

    fn done(&self) {
        if self.on {
            eprintln!();
        }
    }
}

/// Most events per frame sent to the daemon.
const FRAME_EVENTS: usize = 500;
/// How often due events are sent, wall time.
const SEND_EVERY: Duration = Duration::from_millis(100);

/// Sends `events` to the daemon at `url`, `factor` times their own pace. Their
/// times are moved so the first is now and compressed by `factor`, so the daemon,
/// whose clock is the wall's, sees them as they happen (waits and times in state
/// shrink by the factor). `seq` is dropped: a second replay into the same
/// daemon must not be taken for a bridge resending.
async fn feed(events: Vec<Event>, factor: f64, url: &str, token: Option<&str>) -> anyhow::Result<()> {
    let mut req = url.into_client_request().with_context(|| format!("bad ingest url {url:?}"))?;
    if let Some(t) = token {
        let v = HeaderValue::from_str(&format!("Bearer {t}"))
            .context("the ingest token is not a valid header value")?;
        req.headers_mut().insert(header::AUTHORIZATION, v);
    }
    let (ws, _) = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(req))
        .await
        .context("connecting to the daemon timed out")?
        .with_context(|| format!("connecting to {url}"))?;
    let (mut sink, mut stream) = ws.split();
    // The daemon's error frames (rejections) are logged, not fatal.
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            if let Message::Text(t) = msg {
                tracing::warn!(frame = %t.as_str(), "daemon answered");
            }
        }
    });
    let clock = Clock::system();
    let origin = events.first().map_or(0, |e| e.ts);
    let start_wall = clock.now_ms();
    let start = tokio::time::Instant::now();
    let at = |ts: Ts| start_wall + ((ts - origin) as f64 / factor) as Ts;
    let total = events.len();
    let mut bar = Progress::new(std::io::stderr().is_terminal());
    let mut tick = tokio::time::interval(SEND_EVERY);
    let mut events = events.into_iter().peekable();
    let mut sent = 0usize;
    let mut frame = String::new();
    while events.peek().is_some() {
        tick.tick().await;
        let now = start_wall + start.elapsed().as_millis() as Ts;
        loop {
            frame.clear();
            frame.push('[');
            let mut n = 0;
            while n < FRAME_EVENTS
                && let Some(mut e) = events.next_if(|e| at(e.ts) <= now)
            {
                e.ts = at(e.ts);
                e.seq = None;
                if n > 0 {
                    frame.push(',');
                }
                canonical::encode(&e, &mut frame);
                n += 1;
            }
            if n == 0 {
                break;
            }
            frame.push(']');
            sink.send(Message::Text(frame.clone().into())).await.context("sending to the daemon")?;
            sent += n;
            bar.show(sent as u64, total as u64);
        }
    }
    bar.done();
    let _ = sink.send(Message::Close(None)).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
    eprintln!("replay: {sent} events sent to {url}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_max_or_a_positive_factor() {
        assert_eq!(parse_speed("max"), Ok(Speed::Max));
        assert_eq!(parse_speed("60"), Ok(Speed::Factor(60.0)));
        assert_eq!(parse_speed("0.5"), Ok(Speed::Factor(0.5)));
        for bad in ["0", "-1", "fast", "NaN", "inf", ""] {
            assert!(parse_speed(bad).is_err(), "{bad}");
        }
    }
}
